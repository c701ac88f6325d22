//! JDBC connection URLs, as users write them for Confluent's connectors:
//!
//! - `jdbc:postgresql://host[:port]/database[?user=..&password=..&currentSchema=..&sslmode=..]`
//!   (also `jdbc:postgresql:database` and `jdbc:postgresql:/` for localhost);
//! - `jdbc:sqlite:/path/to/file.db`, `jdbc:sqlite:relative.db`, `jdbc:sqlite::memory:`.
//!
//! TLS is not built: `sslmode=require` (or stricter) and `ssl=true` are refused.

/// A parsed connection URL.
#[derive(Clone, Debug, PartialEq)]
pub enum DbUrl {
    Postgres {
        host: String,
        port: u16,
        database: String,
        user: Option<String>,
        password: Option<String>,
        /// `currentSchema`: the search path.
        schema: Option<String>,
        application_name: Option<String>,
    },
    Sqlite {
        /// A file path, or `:memory:`.
        path: String,
    },
}

/// `connection.url`'s validator.
pub fn check(raw: &str) -> Option<String> {
    DbUrl::parse(raw)
        .err()
        .map(|e| format!("Invalid value {raw} for configuration connection.url: {e}"))
}

impl DbUrl {
    pub fn parse(raw: &str) -> Result<DbUrl, String> {
        let raw = raw.trim();
        let Some(rest) = raw.strip_prefix("jdbc:") else {
            return Err("a JDBC URL starts with jdbc: (jdbc:postgresql://host:5432/db or jdbc:sqlite:/path/file.db)".into());
        };
        if let Some(rest) = rest.strip_prefix("postgresql:") {
            return parse_postgres(rest);
        }
        if let Some(rest) = rest.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("file:").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err("jdbc:sqlite: needs a file path or :memory:".into());
            }
            return Ok(DbUrl::Sqlite {
                path: percent_decode(path)?,
            });
        }
        let scheme = rest.split(':').next().unwrap_or_default();
        Err(format!(
            "no suitable driver for jdbc:{scheme}: Strom's JDBC connectors support PostgreSQL (jdbc:postgresql:) and SQLite (jdbc:sqlite:)"
        ))
    }

    pub fn set_user(&mut self, u: &str) {
        if let DbUrl::Postgres { user, .. } = self {
            *user = Some(u.to_string());
        }
    }

    pub fn set_password(&mut self, p: &str) {
        if let DbUrl::Postgres { password, .. } = self {
            *password = Some(p.to_string());
        }
    }

    /// The URL without its password, for logs and messages.
    pub fn redacted(&self) -> String {
        match self {
            DbUrl::Postgres {
                host,
                port,
                database,
                ..
            } => format!("jdbc:postgresql://{host}:{port}/{database}"),
            DbUrl::Sqlite { path } => format!("jdbc:sqlite:{path}"),
        }
    }
}

fn parse_postgres(rest: &str) -> Result<DbUrl, String> {
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, port, database) = if let Some(authority_path) = main.strip_prefix("//") {
        let (authority, database) = authority_path
            .split_once('/')
            .unwrap_or((authority_path, ""));
        if authority.contains(',') {
            return Err("several hosts in one URL are not supported".into());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| "an IPv6 host needs a closing ]".to_string())?;
            (h.to_string(), after.strip_prefix(':').unwrap_or_default())
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p),
                None => (authority.to_string(), ""),
            }
        };
        let port = if port.is_empty() {
            5432
        } else {
            port.parse::<u16>()
                .map_err(|_| format!("invalid port number {port:?}"))?
        };
        let host = if host.is_empty() {
            "localhost".into()
        } else {
            host
        };
        (host, port, percent_decode(database)?)
    } else {
        // jdbc:postgresql:database or jdbc:postgresql:/
        let db = main.trim_start_matches('/');
        ("localhost".to_string(), 5432, percent_decode(db)?)
    };
    let mut url = DbUrl::Postgres {
        host,
        port,
        database,
        user: None,
        password: None,
        schema: None,
        application_name: None,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v)?;
        let DbUrl::Postgres {
            user,
            password,
            schema,
            application_name,
            ..
        } = &mut url
        else {
            unreachable!()
        };
        match k {
            "user" => *user = Some(v),
            "password" => *password = Some(v),
            "currentSchema" => *schema = Some(v),
            "ApplicationName" => *application_name = Some(v),
            "sslmode" if matches!(v.as_str(), "disable" | "allow" | "prefer") => {}
            "ssl" if v == "false" => {}
            "sslmode" | "ssl" => {
                return Err(format!(
                    "{k}={v}: TLS connections to the database are not supported"
                ))
            }
            // Driver tuning parameters (loginTimeout, tcpKeepAlive, ...) change nothing here.
            _ => tracing::debug!(parameter = k, "ignoring a JDBC URL parameter"),
        }
    }
    Ok(url)
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-encoding in {s:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{s:?} is not UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls() {
        let u = DbUrl::parse(
            "jdbc:postgresql://db.example:6543/shop?user=bob&password=p%40ss&currentSchema=s1&loginTimeout=5",
        )
        .unwrap();
        assert_eq!(
            u,
            DbUrl::Postgres {
                host: "db.example".into(),
                port: 6543,
                database: "shop".into(),
                user: Some("bob".into()),
                password: Some("p@ss".into()),
                schema: Some("s1".into()),
                application_name: None,
            }
        );
        let DbUrl::Postgres { host, port, .. } = DbUrl::parse("jdbc:postgresql://h/db").unwrap()
        else {
            panic!()
        };
        assert_eq!((host.as_str(), port), ("h", 5432));
        let DbUrl::Postgres { host, database, .. } = DbUrl::parse("jdbc:postgresql:shop").unwrap()
        else {
            panic!()
        };
        assert_eq!((host.as_str(), database.as_str()), ("localhost", "shop"));
        let DbUrl::Postgres { host, port, .. } =
            DbUrl::parse("jdbc:postgresql://[::1]:7000/db").unwrap()
        else {
            panic!()
        };
        assert_eq!((host.as_str(), port), ("::1", 7000));
    }

    #[test]
    fn sqlite_urls() {
        assert_eq!(
            DbUrl::parse("jdbc:sqlite:/tmp/a.db").unwrap(),
            DbUrl::Sqlite {
                path: "/tmp/a.db".into()
            }
        );
        assert_eq!(
            DbUrl::parse("jdbc:sqlite::memory:").unwrap(),
            DbUrl::Sqlite {
                path: ":memory:".into()
            }
        );
    }

    #[test]
    fn bad_urls_say_why() {
        assert!(check("postgres://h/db")
            .unwrap()
            .contains("starts with jdbc:"));
        assert!(check("jdbc:mysql://h/db")
            .unwrap()
            .contains("no suitable driver for jdbc:mysql"));
        assert!(check("jdbc:postgresql://h:99999/db")
            .unwrap()
            .contains("invalid port"));
        assert!(check("jdbc:postgresql://h/db?sslmode=require")
            .unwrap()
            .contains("TLS"));
        assert!(check("jdbc:postgresql://a:1,b:2/db")
            .unwrap()
            .contains("several hosts"));
        assert!(check("jdbc:sqlite:").is_some());
    }
}
