//! JDBC connection URLs, as users write them for Confluent's connectors:
//!
//! - `jdbc:postgresql://host[:port]/database[?user=..&password=..&currentSchema=..&sslmode=..]`
//!   (also `jdbc:postgresql:database` and `jdbc:postgresql:/` for localhost);
//! - `jdbc:mysql://host[:port]/database[?user=..&password=..]` (MySQL and
//!   MariaDB; also `jdbc:mariadb://`);
//! - `jdbc:sqlite:/path/to/file.db`, `jdbc:sqlite:relative.db`, `jdbc:sqlite::memory:`.
//!
//! TLS is not built: `sslmode=require` (or stricter), `ssl=true`,
//! `useSSL=true`, `sslMode=REQUIRED` are refused.

/// A database server's address and login, from a URL.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// PostgreSQL's `currentSchema`: the search path.
    pub schema: Option<String>,
    pub application_name: Option<String>,
}

/// A parsed connection URL.
#[derive(Clone, Debug, PartialEq)]
pub enum DbUrl {
    Postgres(Server),
    /// MySQL or MariaDB (`jdbc:mysql:`, `jdbc:mariadb:`).
    MySql(Server),
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
            return Err("a JDBC URL starts with jdbc: (jdbc:postgresql://host:5432/db, jdbc:mysql://host:3306/db or jdbc:sqlite:/path/file.db)".into());
        };
        if let Some(rest) = rest.strip_prefix("postgresql:") {
            return parse_server(rest, 5432).map(DbUrl::Postgres);
        }
        if let Some(rest) = rest
            .strip_prefix("mysql:")
            .or_else(|| rest.strip_prefix("mariadb:"))
        {
            if !rest.starts_with("//") {
                return Err("a MySQL URL is jdbc:mysql://host[:port]/database".into());
            }
            return parse_server(rest, 3306).map(DbUrl::MySql);
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
            "no suitable driver for jdbc:{scheme}: Strom's JDBC connectors support PostgreSQL (jdbc:postgresql:), MySQL/MariaDB (jdbc:mysql:, jdbc:mariadb:) and SQLite (jdbc:sqlite:)"
        ))
    }

    /// The dialect the URL's driver speaks.
    pub fn dialect(&self) -> super::dialect::Dialect {
        use super::dialect::Dialect;
        match self {
            DbUrl::Postgres(_) => Dialect::Postgres,
            DbUrl::MySql(_) => Dialect::MySql,
            DbUrl::Sqlite { .. } => Dialect::Sqlite,
        }
    }

    /// The catalog tables live in (`catalog.pattern`): the database named by
    /// the URL; SQLite's is `main`.
    pub fn catalog(&self) -> &str {
        match self {
            DbUrl::Postgres(s) | DbUrl::MySql(s) => &s.database,
            DbUrl::Sqlite { .. } => "main",
        }
    }

    fn server_mut(&mut self) -> Option<&mut Server> {
        match self {
            DbUrl::Postgres(s) | DbUrl::MySql(s) => Some(s),
            DbUrl::Sqlite { .. } => None,
        }
    }

    pub fn set_user(&mut self, u: &str) {
        if let Some(s) = self.server_mut() {
            s.user = Some(u.to_string());
        }
    }

    pub fn set_password(&mut self, p: &str) {
        if let Some(s) = self.server_mut() {
            s.password = Some(p.to_string());
        }
    }

    /// The URL without its login, for logs and messages.
    pub fn redacted(&self) -> String {
        match self {
            DbUrl::Postgres(s) => format!("jdbc:postgresql://{}:{}/{}", s.host, s.port, s.database),
            DbUrl::MySql(s) => format!("jdbc:mysql://{}:{}/{}", s.host, s.port, s.database),
            DbUrl::Sqlite { path } => format!("jdbc:sqlite:{path}"),
        }
    }
}

/// `//host[:port]/database?params` (or `database` alone: localhost).
fn parse_server(rest: &str, default_port: u16) -> Result<Server, String> {
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
            default_port
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
        ("localhost".to_string(), default_port, percent_decode(db)?)
    };
    let mut server = Server {
        host,
        port,
        database,
        ..Server::default()
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v)?;
        let plain = match k {
            "user" => {
                server.user = Some(v);
                continue;
            }
            "password" => {
                server.password = Some(v);
                continue;
            }
            "currentSchema" => {
                server.schema = Some(v);
                continue;
            }
            "ApplicationName" => {
                server.application_name = Some(v);
                continue;
            }
            // PostgreSQL's and MySQL Connector/J's TLS switches.
            "sslmode" => matches!(v.as_str(), "disable" | "allow" | "prefer"),
            "sslMode" => matches!(v.to_ascii_uppercase().as_str(), "DISABLED" | "PREFERRED"),
            "ssl" | "useSSL" | "requireSSL" => v.eq_ignore_ascii_case("false"),
            // Driver tuning parameters (loginTimeout, tcpKeepAlive, ...) change nothing here.
            _ => {
                tracing::debug!(parameter = k, "ignoring a JDBC URL parameter");
                true
            }
        };
        if !plain {
            return Err(format!(
                "{k}={v}: TLS connections to the database are not supported"
            ));
        }
    }
    Ok(server)
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
    fn server_urls() {
        let u = DbUrl::parse(
            "jdbc:postgresql://db.example:6543/shop?user=bob&password=p%40ss&currentSchema=s1&loginTimeout=5",
        )
        .unwrap();
        assert_eq!(
            u,
            DbUrl::Postgres(Server {
                host: "db.example".into(),
                port: 6543,
                database: "shop".into(),
                user: Some("bob".into()),
                password: Some("p@ss".into()),
                schema: Some("s1".into()),
                application_name: None,
            })
        );
        let server = |u: &str| match DbUrl::parse(u).unwrap() {
            DbUrl::Postgres(s) | DbUrl::MySql(s) => (s.host, s.port, s.database),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            server("jdbc:postgresql://h/db"),
            ("h".into(), 5432, "db".into())
        );
        assert_eq!(
            server("jdbc:postgresql:shop"),
            ("localhost".into(), 5432, "shop".into())
        );
        assert_eq!(
            server("jdbc:postgresql://[::1]:7000/db"),
            ("::1".into(), 7000, "db".into())
        );
        assert_eq!(
            server("jdbc:mysql://m/shop?useSSL=false"),
            ("m".into(), 3306, "shop".into())
        );
        assert!(matches!(
            DbUrl::parse("jdbc:mariadb://m:3307/x").unwrap(),
            DbUrl::MySql(Server { port: 3307, .. })
        ));
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
        assert!(check("jdbc:oracle:thin:@h:1521:x")
            .unwrap()
            .contains("no suitable driver for jdbc:oracle"));
        assert!(check("jdbc:mysql://h/db?requireSSL=true")
            .unwrap()
            .contains("TLS"));
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
