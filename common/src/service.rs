//! What every Strom HTTP service (schema registry, REST proxy, Connect) does
//! the same way as its Confluent / Apache original: Java-style `.properties`
//! files overridden by environment variables, `http://host:port` listeners,
//! `bootstrap.servers` lists, and a `main` that logs to stderr and stops on
//! SIGTERM or Ctrl-C.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Java-style `.properties`: `key=value`, `key: value` or `key value`,
/// `#`/`!` comments, trailing-backslash continuation lines, `\` escapes.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        if line.ends_with('\\') && !line.ends_with("\\\\") {
            pending.push_str(&line[..line.len() - 1]);
            continue;
        }
        pending.push_str(line);
        let entry = std::mem::take(&mut pending);
        let (k, v) = split_entry(&entry);
        out.insert(unescape(k.trim()), unescape(v.trim_start()));
    }
    out
}

fn split_entry(entry: &str) -> (&str, &str) {
    let bytes = entry.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' => return (&entry[..i], &entry[i + 1..]),
            b' ' | b'\t' => {
                let rest = entry[i..].trim_start();
                let rest = rest
                    .strip_prefix('=')
                    .or_else(|| rest.strip_prefix(':'))
                    .unwrap_or(rest);
                return (&entry[..i], rest);
            }
            _ => i += 1,
        }
    }
    (entry, "")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The property an environment variable names once its prefix is stripped,
/// by the rules of Confluent's and Apache Kafka's images: lower-case, then
/// `___` → `-`, `__` → `_`, `_` → `.` (`KAFKASTORE_BOOTSTRAP_SERVERS` →
/// `kafkastore.bootstrap.servers`, `CONFLUENT_LICENSE__TOPIC` →
/// `confluent.license_topic`, `SSL___KEY` → `ssl-key`).
pub fn env_name_to_property(name: &str) -> String {
    name.to_ascii_lowercase()
        .replace("___", "\u{1}")
        .replace("__", "\u{2}")
        .replace('_', ".")
        .replace('\u{1}', "-")
        .replace('\u{2}', "_")
}

/// Properties named by environment variables with one of `prefixes`, the way
/// Confluent's images map them: strip the prefix, then
/// [`env_name_to_property`] (`KAFKA_REST_BOOTSTRAP_SERVERS` →
/// `bootstrap.servers`). When two prefixes name the same property, the one
/// listed first wins (`STROM_REST_` over `KAFKA_REST_`).
pub fn env_overrides(
    vars: impl Iterator<Item = (String, String)>,
    prefixes: &[&str],
) -> BTreeMap<String, String> {
    let vars: Vec<(String, String)> = vars.collect();
    let mut out = BTreeMap::new();
    for prefix in prefixes.iter().rev() {
        for (k, v) in &vars {
            if let Some(rest) = k.strip_prefix(prefix) {
                if !rest.is_empty() {
                    out.insert(env_name_to_property(rest), v.clone());
                }
            }
        }
    }
    out
}

/// The properties file at `path` (if any), then this process's environment
/// variables with one of `prefixes` on top.
pub fn load_properties(
    path: Option<&Path>,
    prefixes: &[&str],
) -> Result<BTreeMap<String, String>, String> {
    let mut props = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            parse_properties(&text)
        }
        None => BTreeMap::new(),
    };
    props.extend(env_overrides(std::env::vars(), prefixes));
    Ok(props)
}

/// `bootstrap.servers` without `PLAINTEXT://`-style prefixes.
pub fn strip_security_protocols(servers: &str) -> String {
    servers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.split_once("://").map(|(_, rest)| rest).unwrap_or(s))
        .collect::<Vec<_>>()
        .join(",")
}

/// Host and port of an `http://host:port` listener (an empty host is all
/// interfaces; only http is served).
pub fn http_listener_host_port(listener: &str) -> Result<(String, u16), String> {
    let rest = match listener.split_once("://") {
        Some((scheme, rest)) => {
            if !scheme.eq_ignore_ascii_case("http") {
                return Err(format!("listeners: only http is supported, got {listener}"));
            }
            rest
        }
        None => listener,
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("listeners: no port in {listener}"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("listeners: bad port in {listener}"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    Ok((host.to_string(), port))
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// The one optional argument of a service binary, its properties file; any
/// other argument (or `--help`) prints `usage` and exits with 2.
pub fn properties_path_arg(usage: &str) -> Option<PathBuf> {
    let mut args = std::env::args_os().skip(1);
    let path = args.next().map(PathBuf::from);
    if args.next().is_some()
        || path
            .as_ref()
            .is_some_and(|p| p.as_os_str() == "--help" || p.as_os_str() == "-h")
    {
        eprintln!("{usage}");
        std::process::exit(2)
    }
    path
}

/// Wait for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_syntax() {
        let p = parse_properties(
            "# c\n! c\na=1\nb: 2\nc 3\nd = x\\\n  y\ne=tab\\there\nf\n  g = spaced \nh = f=g\n",
        );
        assert_eq!(p["a"], "1");
        assert_eq!(p["b"], "2");
        assert_eq!(p["c"], "3");
        assert_eq!(p["d"], "xy");
        assert_eq!(p["e"], "tab\there");
        assert_eq!(p["f"], "");
        // Java keeps a value's trailing blanks.
        assert_eq!(p["g"], "spaced ");
        assert_eq!(p["h"], "f=g");
        assert_eq!(p.len(), 8);
    }

    #[test]
    fn environment_overrides() {
        let vars = [
            ("KAFKA_REST_BOOTSTRAP_SERVERS", "b:9092"),
            ("STROM_REST_CONSUMER_INSTANCE_TIMEOUT_MS", "5"),
            ("KAFKA_REST_", "ignored"),
            ("PATH", "/bin"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let o = env_overrides(vars, &["STROM_REST_", "KAFKA_REST_"]);
        assert_eq!(o["bootstrap.servers"], "b:9092");
        assert_eq!(o["consumer.instance.timeout.ms"], "5");
        assert_eq!(o.len(), 2);

        // The first prefix wins, whatever the order of the variables.
        for vars in [
            [("KAFKA_REST_ID", "confluent"), ("STROM_REST_ID", "strom")],
            [("STROM_REST_ID", "strom"), ("KAFKA_REST_ID", "confluent")],
        ] {
            let vars = vars.map(|(k, v)| (k.to_string(), v.to_string()));
            let o = env_overrides(vars.into_iter(), &["STROM_REST_", "KAFKA_REST_"]);
            assert_eq!(o["id"], "strom");
        }
    }

    #[test]
    fn confluent_image_naming_rules() {
        assert_eq!(
            env_name_to_property("KAFKASTORE_BOOTSTRAP_SERVERS"),
            "kafkastore.bootstrap.servers"
        );
        // `__` is an underscore, `___` a dash (Confluent's `dub` and Apache
        // Kafka's image agree).
        assert_eq!(
            env_name_to_property("CONFLUENT_LICENSE__TOPIC"),
            "confluent.license_topic"
        );
        assert_eq!(
            env_name_to_property("LISTENER_NAME_INTERNAL_SSL___KEY"),
            "listener.name.internal.ssl-key"
        );
        assert_eq!(env_name_to_property("A____B"), "a-.b");
        assert_eq!(env_name_to_property("HOST_NAME"), "host.name");
    }

    #[test]
    fn listeners_and_bootstrap_servers() {
        assert_eq!(
            http_listener_host_port("http://0.0.0.0:8081").unwrap(),
            ("0.0.0.0".to_string(), 8081)
        );
        assert_eq!(
            http_listener_host_port("http://[::1]:0/").unwrap(),
            ("::1".to_string(), 0)
        );
        assert_eq!(
            http_listener_host_port("http://:8082").unwrap(),
            ("0.0.0.0".to_string(), 8082)
        );
        assert!(http_listener_host_port("https://h:1").is_err());
        assert!(http_listener_host_port("http://h").is_err());
        assert_eq!(
            strip_security_protocols("PLAINTEXT://a:1, b:2,,SASL_SSL://c:3"),
            "a:1,b:2,c:3"
        );
    }
}
