//! `strom-schema-registry schema-registry.properties`, like `schema-registry-start`.

use strom_common::service;
use strom_schema_registry::RegistryConfig;

const USAGE: &str = "usage: strom-schema-registry [schema-registry.properties]
Properties use Confluent's names; STROM_SR_* (or SCHEMA_REGISTRY_*) environment
variables override them (STROM_SR_KAFKASTORE_BOOTSTRAP_SERVERS -> kafkastore.bootstrap.servers).";

fn main() -> anyhow::Result<()> {
    service::init_logging();
    let path = service::properties_path_arg(USAGE);
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
        service::shutdown_signal().await;
        registry.shutdown().await?;
        Ok(())
    })
}
