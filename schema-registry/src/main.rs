//! `strom-schema-registry schema-registry.properties`, like `schema-registry-start`.

use std::path::PathBuf;

use strom_schema_registry::RegistryConfig;

fn usage() -> ! {
    eprintln!("usage: strom-schema-registry [schema-registry.properties]");
    eprintln!("Properties use Confluent's names; STROM_SR_* (or SCHEMA_REGISTRY_*) environment");
    eprintln!("variables override them (STROM_SR_KAFKASTORE_BOOTSTRAP_SERVERS -> kafkastore.bootstrap.servers).");
    std::process::exit(2)
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args_os().skip(1);
    let path = args.next().map(PathBuf::from);
    if args.next().is_some()
        || path
            .as_ref()
            .is_some_and(|p| p.as_os_str() == "--help" || p.as_os_str() == "-h")
    {
        usage();
    }
    let config = RegistryConfig::load(path.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let registry = strom_schema_registry::start(config).await?;
        println!(
            "[strom-schema-registry] listening on {} ({})",
            registry.local_addr(),
            registry.url()
        );
        shutdown_signal().await;
        registry.shutdown().await?;
        Ok(())
    })
}

async fn shutdown_signal() {
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
