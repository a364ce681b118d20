//! `dcmdisc serve`: the Storage Provider AE and, beside it, the web API (`[web]`), until
//! SIGINT or SIGTERM.

use std::net::IpAddr;

use anyhow::Result;
use dcmdisc_app::config::AeTitle;
use dcmdisc_app::{Config, Service, Shutdown};
use dcmdisc_web::WebServer;
use tracing::{error, info};

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
    /// Web API port; overrides [web] port (0: any free one, logged as "web API at ...").
    #[arg(long, value_name = "PORT")]
    web_port: Option<u16>,
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
    if let Some(p) = args.web_port {
        cfg.web.port = p;
    }
    cfg.validate()?;
    if cfg.web.enabled {
        // Before anything opens or listens.
        dcmdisc_web::check_bind(&cfg.web)?;
    }
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
        let web = match cfg.web.enabled {
            true => Some(WebServer::bind(&cfg, service.activity(), shutdown.clone()).await?),
            false => None,
        };
        let listening = service.bind().await?;
        // The web server runs beside the DICOM service on this runtime; a failure of either
        // stops both.
        let web = web.map(|w| {
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let r = w.run().await;
                if r.is_err() {
                    stop.trigger();
                }
                r
            })
        });
        let served = listening.run(shutdown.clone()).await;
        shutdown.trigger();
        if let Some(task) = web {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e.into()),
                Err(e) => error!("the web API task ended: {e}"),
            }
        }
        served?;
        Ok(())
    })
}
