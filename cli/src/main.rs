//! `strom`: the one command a Strom user types.
//!
//! - `strom up` runs Strom locally, in this process ([`up`]).
//! - `strom topics` manages topics, like `kafka-topics.sh` ([`topics`]).
//! - `strom produce` / `strom consume` write and read records from the
//!   terminal, like the console producer/consumer and kcat ([`produce`],
//!   [`consume`]).
//! - `strom groups` lists, describes and deletes consumer groups and resets
//!   their offsets, like `kafka-consumer-groups.sh` ([`groups`]).
//!
//! The client commands talk to any Kafka-compatible cluster through
//! librdkafka; [`client`] holds what they share.

mod client;
mod consume;
mod groups;
mod produce;
mod topic_ids;
mod topics;
mod up;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Strom: a Kafka-compatible streaming platform.
#[derive(Debug, Parser)]
#[command(name = "strom", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run Strom on this machine until Ctrl-C.
    Up(up::UpArgs),
    /// Create, list, describe, alter and delete topics.
    Topics(topics::TopicsArgs),
    /// Produce one record per line of standard input.
    Produce(produce::ProduceArgs),
    /// Print the records of a topic.
    Consume(consume::ConsumeArgs),
    /// List, describe and delete consumer groups; reset their offsets.
    Groups(groups::GroupsArgs),
}

/// Logs go to stderr, filtered by `RUST_LOG`. The server's lines carry
/// timestamps; a client command's are short (`WARN librdkafka: ...`).
fn init_logging(server: bool) {
    let default_level = if server { "info" } else { "warn" };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // Ignore the error of a second initialisation; there is none in practice.
    let _ = if server {
        builder.try_init()
    } else {
        builder.without_time().try_init()
    };
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Up(args) => up::run(args).await,
        Command::Topics(args) => topics::run(args).await,
        Command::Produce(args) => produce::run(args).await,
        Command::Consume(args) => consume::run(args).await,
        Command::Groups(args) => groups::run(args).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs what it does; a client command speaks only when
    // something is wrong (librdkafka's connection errors, for instance).
    init_logging(matches!(cli.command, Command::Up(_)));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("strom").chain(args.iter().copied()))
    }

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn up_defaults() {
        let Command::Up(a) = parse(&["up"]).unwrap().command else {
            panic!("not up")
        };
        if std::env::var_os("STROM_BROKER_PORT").is_none() {
            assert_eq!(a.broker_port, 9092);
        }
        if std::env::var_os("STROM_SCHEMA_REGISTRY_PORT").is_none() {
            assert_eq!(a.schema_registry_port, 8081);
        }
        if std::env::var_os("STROM_REST_PROXY_PORT").is_none() {
            assert_eq!(a.rest_proxy_port, 8082);
        }
        if std::env::var_os("STROM_CONNECT_PORT").is_none() {
            assert_eq!(a.connect_port, 8083);
        }
        let Command::Up(a) = parse(&[
            "up",
            "--data-dir",
            "/tmp/x",
            "--broker-port",
            "0",
            "--schema-registry-port",
            "0",
        ])
        .unwrap()
        .command
        else {
            panic!("not up")
        };
        assert_eq!(a.broker_port, 0);
        assert_eq!(a.schema_registry_port, 0);
        assert_eq!(a.data_dir, std::path::PathBuf::from("/tmp/x"));
        assert!(a.only.is_empty());
        assert!(a.runs(up::Service::Broker) && a.runs(up::Service::Connect));
        assert!(!a.runs(up::Service::Sql), "SQL is not built yet");
    }

    #[test]
    fn up_only_some_services() {
        let Command::Up(a) = parse(&[
            "up",
            "--only",
            "broker,schema-registry",
            "--sql-port",
            "18088",
            "--connect-port",
            "18083",
            "--rest-proxy-port",
            "18082",
        ])
        .unwrap()
        .command
        else {
            panic!("not up")
        };
        assert_eq!(a.only, [up::Service::Broker, up::Service::SchemaRegistry]);
        assert!(a.runs(up::Service::Broker));
        assert!(a.runs(up::Service::SchemaRegistry));
        assert!(!a.runs(up::Service::RestProxy));
        assert!(!a.runs(up::Service::Connect));
        assert_eq!(
            (a.sql_port, a.connect_port, a.rest_proxy_port),
            (Some(18088), 18083, 18082)
        );
        let Command::Up(a) = parse(&[
            "up",
            "--only",
            "rest-proxy",
            "--only",
            "connect",
            "--bootstrap-server",
            "kafka:9092",
            "--schema-registry-url",
            "http://sr:8081",
        ])
        .unwrap()
        .command
        else {
            panic!("not up")
        };
        assert_eq!(a.only, [up::Service::RestProxy, up::Service::Connect]);
        assert_eq!(a.bootstrap_server.as_deref(), Some("kafka:9092"));
        assert_eq!(a.schema_registry_url.as_deref(), Some("http://sr:8081"));
        assert!(parse(&["up", "--only", "zookeeper"]).is_err());
    }

    #[test]
    fn topics_create_flags() {
        let Command::Topics(t) = parse(&[
            "topics",
            "-b",
            "h:1",
            "create",
            "orders",
            "--partitions",
            "3",
            "--replication-factor",
            "1",
            "--config",
            "retention.ms=1000",
            "--config",
            "cleanup.policy=compact",
            "--if-not-exists",
        ])
        .unwrap()
        .command
        else {
            panic!("not topics")
        };
        assert_eq!(t.client.bootstrap_server, "h:1");
        let topics::TopicsCommand::Create(c) = t.command else {
            panic!("not create")
        };
        assert_eq!(c.topic, "orders");
        assert_eq!(c.partitions, Some(3));
        assert_eq!(c.replication_factor, Some(1));
        assert_eq!(c.configs.len(), 2);
        assert!(c.if_not_exists);
        assert!(parse(&["topics", "create", "x", "--partitions", "0"]).is_err());
        assert!(parse(&["topics", "create", "x", "--config", "novalue"]).is_err());
    }

    #[test]
    fn client_flags_after_subcommand() {
        // -b may come before or after the topics subcommand.
        for args in [
            &["topics", "list", "-b", "h:1"][..],
            &["topics", "-b", "h:1", "list"][..],
        ] {
            let Command::Topics(t) = parse(args).unwrap().command else {
                panic!("not topics")
            };
            assert_eq!(t.client.bootstrap_server, "h:1");
        }
        let Command::Produce(p) = parse(&["produce", "t", "-b", "h:2", "-X", "linger.ms=1"])
            .unwrap()
            .command
        else {
            panic!("not produce")
        };
        assert_eq!(p.client.bootstrap_server, "h:2");
        assert_eq!(
            p.client.extra_properties,
            vec![("linger.ms".into(), "1".into())]
        );
    }

    #[test]
    fn produce_flags() {
        let Command::Produce(p) = parse(&[
            "produce",
            "t",
            "-K",
            ":",
            "-H",
            "a=1",
            "--header",
            "b=2",
            "--partition",
            "2",
            "--acks",
            "1",
            "--compression",
            "zstd",
            "--property",
            "parse.key=true",
        ])
        .unwrap()
        .command
        else {
            panic!("not produce")
        };
        assert_eq!(p.key_separator.as_deref(), Some(":"));
        assert_eq!(p.headers.len(), 2);
        assert_eq!(p.partition, Some(2));
        assert_eq!(p.acks, produce::Acks::One);
        assert_eq!(p.compression, produce::Compression::Zstd);
        let Command::Produce(p) = parse(&["produce", "t"]).unwrap().command else {
            panic!("not produce")
        };
        assert_eq!(p.acks, produce::Acks::All);
        assert_eq!(p.compression, produce::Compression::None);
        assert!(parse(&["produce", "t", "--acks", "2"]).is_err());
        assert!(parse(&["produce", "t", "--compression", "brotli"]).is_err());
    }

    #[test]
    fn consume_flags() {
        let Command::Consume(c) = parse(&[
            "consume",
            "t",
            "-o",
            "-5",
            "-c",
            "10",
            "--timeout-ms",
            "500",
            "--format",
            "json",
            "-p",
            "1",
        ])
        .unwrap()
        .command
        else {
            panic!("not consume")
        };
        assert_eq!(c.offset, Some(consume::OffsetSpec::FromEnd(5)));
        assert_eq!(c.max_messages, Some(10));
        assert_eq!(c.timeout_ms, Some(500));
        assert_eq!(c.format, consume::Format::Json);
        assert_eq!(c.partition, Some(1));
        assert!(parse(&["consume", "t", "--from-beginning", "--offset", "3"]).is_err());
        assert!(parse(&["consume", "t", "--offset", "later"]).is_err());
        let Command::Consume(c) =
            parse(&["consume", "t", "--from-beginning", "--max-messages", "1"])
                .unwrap()
                .command
        else {
            panic!("not consume")
        };
        assert!(c.from_beginning);
        assert_eq!(c.format, consume::Format::Text);
    }
}
