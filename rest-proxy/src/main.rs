//! `strom-rest-proxy kafka-rest.properties`, like `kafka-rest-start`.

use strom_common::service;
use strom_rest_proxy::ProxyConfig;

const USAGE: &str = "usage: strom-rest-proxy [kafka-rest.properties]
Properties use Confluent's names; STROM_REST_* (or KAFKA_REST_*) environment
variables override them (KAFKA_REST_BOOTSTRAP_SERVERS -> bootstrap.servers).";

fn main() -> anyhow::Result<()> {
    service::init_logging();
    let path = service::properties_path_arg(USAGE);
    let config = ProxyConfig::load(path.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let proxy = strom_rest_proxy::start(config).await?;
        println!("[strom-rest-proxy] listening on {}", proxy.local_addr());
        service::shutdown_signal().await;
        proxy.shutdown().await?;
        Ok(())
    })
}
