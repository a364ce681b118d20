//! `dcmdisc serve`: the Storage Provider AE until SIGINT or SIGTERM.

use std::net::IpAddr;

use anyhow::Result;
use dcmdisc_app::config::AeTitle;
use dcmdisc_app::{Config, Service, Shutdown};
use tracing::info;

#[derive(clap::Args)]
pub struct Args {
    /// TCP port; overrides [storage_provider] port.
    #[arg(long)]
    port: Option<u16>,
    /// Local AE title (repeat for several); overrides [storage_provider] ae_titles.
    #[arg(long = "ae-title", value_name = "AE")]
    ae_titles: Vec<AeTitle>,
    /// Address to listen on; overrides [storage_provider] bind_address.
    #[arg(long)]
    bind: Option<IpAddr>,
}

pub fn run(mut cfg: Config, args: Args) -> Result<()> {
    let sp = &mut cfg.storage_provider;
    if let Some(p) = args.port {
        sp.port = p;
    }
    if !args.ae_titles.is_empty() {
        sp.ae_titles = args.ae_titles;
    }
    if let Some(b) = args.bind {
        sp.bind_address = b;
    }
    cfg.validate()?;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let service = Service::open(&cfg)?;
    if let Some(path) = service.created_database() {
        eprintln!(
            "dcmdisc: created a new control database at {}",
            path.display()
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let shutdown = Shutdown::new();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            info!("{}: stopping", crate::signals::next().await);
            trigger.trigger();
        });
        // Let that task install its handlers before the first connection can come in.
        tokio::task::yield_now().await;
        service.bind().await?.run(shutdown).await?;
        Ok(())
    })
}
