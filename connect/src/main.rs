//! `strom-connect standalone worker.properties [connector.properties ...]`
//! and `strom-connect distributed connect-distributed.properties`, like
//! `connect-standalone.sh` and `connect-distributed.sh`.

use std::path::PathBuf;

use strom_common::service;
use strom_connect::WorkerConfig;

fn usage() -> ! {
    eprintln!("usage: strom-connect standalone worker.properties [connector1.properties connector2.json ...]");
    eprintln!("       strom-connect distributed worker.properties");
    eprintln!("Properties use Kafka Connect's names; STROM_CONNECT_* (or CONNECT_*) environment");
    eprintln!("variables override them (STROM_CONNECT_BOOTSTRAP_SERVERS -> bootstrap.servers).");
    std::process::exit(2)
}

fn main() -> anyhow::Result<()> {
    service::init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, worker_file, rest) = match args.as_slice() {
        [mode, worker, rest @ ..] if mode == "standalone" => {
            (mode.clone(), PathBuf::from(worker), rest.to_vec())
        }
        [mode, worker] if mode == "distributed" => {
            (mode.clone(), PathBuf::from(worker), Vec::new())
        }
        _ => usage(),
    };
    let config = WorkerConfig::load(&mode, &worker_file)?;
    let connectors = rest
        .iter()
        .map(|p| strom_connect::load_connector_config(std::path::Path::new(p)))
        .collect::<Result<Vec<_>, _>>()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let worker = strom_connect::start(config, connectors).await?;
        println!(
            "[strom-connect] listening on {} ({})",
            worker.local_addr(),
            worker.url()
        );
        service::shutdown_signal().await;
        worker.shutdown().await?;
        Ok(())
    })
}
