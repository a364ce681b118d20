//! dcmdisc: the DICOM media center binary. Wires the network layer to the archive, and
//! offers the admin commands over the control database.

mod config;
mod convert;
mod export;
mod serve;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use config::Config;
use dcmdisc_archive::Control;

#[derive(Parser)]
#[command(
    name = "dcmdisc",
    version,
    about = "DICOM media center: receive, archive, make patient discs"
)]
struct Cli {
    /// TOML configuration file (see dcmdisc.example.toml); embedded defaults without it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (archive + control database); overrides [archive] data_dir.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Storage Provider AE (C-ECHO and C-STORE SCP).
    Serve {
        /// TCP port; overrides [storage_provider] port.
        #[arg(long)]
        port: Option<u16>,
        /// Local AE title (repeat for several); overrides [storage_provider] ae_titles.
        #[arg(long = "ae-title", value_name = "AE")]
        ae_titles: Vec<String>,
        /// Address to listen on; overrides [storage_provider] bind_address.
        #[arg(long)]
        bind: Option<String>,
    },
    /// Remote AEs allowed to connect.
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// List patient collections.
    Patients {
        #[arg(long)]
        json: bool,
    },
    /// List stored instances.
    Instances {
        #[arg(long)]
        json: bool,
        /// Only this collection (the `id` of `dcmdisc patients`).
        #[arg(long)]
        collection: Option<i64>,
    },
    /// Build disc volumes (DICOMDIR + instances + ISO 9660 image) for one patient collection,
    /// or for every patient found in a folder of DICOM files.
    Export(export::ExportArgs),
    /// Convert a DICOM file to Explicit or Implicit VR Little Endian (decompressing JPEG/RLE).
    Convert {
        input: PathBuf,
        output: PathBuf,
        /// explicit-le or implicit-le
        #[arg(long, default_value = "explicit-le")]
        to: String,
    },
    /// Show the extended store log, newest last.
    Log {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Subcommand)]
enum RemoteCommand {
    /// Allow AE_TITLE to connect from HOST (IP address, host name, or `any`).
    Add {
        ae_title: String,
        #[arg(long)]
        host: String,
        /// Port where the remote accepts associations (informational for now).
        #[arg(long)]
        port: Option<u16>,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Remove {
        ae_title: String,
    },
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("dcmdisc: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let mut cfg = Config::load(cli.config.as_deref())?;
    if let Some(d) = cli.data_dir {
        cfg.archive.data_dir = d;
    }
    match cli.command {
        Command::Serve {
            port,
            ae_titles,
            bind,
        } => {
            if let Some(p) = port {
                cfg.storage_provider.port = p;
            }
            if !ae_titles.is_empty() {
                cfg.storage_provider.ae_titles = ae_titles;
            }
            if let Some(b) = bind {
                cfg.storage_provider.bind_address = b;
            }
            cfg.validate()?;
            serve::run(cfg)
        }
        Command::Remote(rc) => remote(&cfg, rc),
        Command::Convert { input, output, to } => convert::run(&cfg, &input, &output, &to),
        Command::Export(args) => {
            cfg.validate()?;
            export::run(&cfg, args)
        }
        Command::Patients { json } => {
            let rows = control(&cfg)?.collections()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:>5}  {:<32} {:<24} {:>7} {:>6} {:>9} {:>12}",
                    "ID", "PATIENT NAME", "PATIENT ID", "STUDIES", "SERIES", "INSTANCES", "BYTES"
                );
                for r in rows {
                    let id = if r.patient_id_generated {
                        format!("{} (generated)", r.patient_id)
                    } else {
                        r.patient_id
                    };
                    println!(
                        "{:>5}  {:<32} {:<24} {:>7} {:>6} {:>9} {:>12}",
                        r.id, r.patient_name, id, r.studies, r.series, r.instances, r.bytes
                    );
                }
            }
            Ok(())
        }
        Command::Instances { json, collection } => {
            let rows = control(&cfg)?.instances(collection)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for r in rows {
                    println!(
                        "{}  {}  {}  {}",
                        r.collection, r.sop_instance_uid, r.transfer_syntax, r.path
                    );
                }
            }
            Ok(())
        }
        Command::Log { json, limit } => {
            let rows = control(&cfg)?.log(limit)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for r in rows {
                    println!(
                        "{} {} {} {} {} {}",
                        r.time, r.status, r.calling_ae, r.peer, r.sop_instance_uid, r.reason
                    );
                }
            }
            Ok(())
        }
    }
}

pub(crate) fn control(cfg: &Config) -> Result<Control> {
    Control::open(&cfg.archive.data_dir).with_context(|| {
        format!(
            "opening the control database in {}",
            cfg.archive.data_dir.display()
        )
    })
}

fn remote(cfg: &Config, rc: RemoteCommand) -> Result<()> {
    let c = control(cfg)?;
    match rc {
        RemoteCommand::Add {
            ae_title,
            host,
            port,
        } => {
            let ae = ae_title.trim();
            if ae.is_empty()
                || ae.len() > 16
                || ae.contains('\\')
                || !ae.bytes().all(|b| (0x20..0x7f).contains(&b))
            {
                bail!("{ae_title:?} is not an AE title (1-16 printable characters, no backslash)");
            }
            let host = host.trim();
            if host.is_empty() {
                bail!("--host is empty: give an IP address, a host name, or `any`");
            }
            c.add_remote(ae, host, port)?;
            println!("remote AE {ae} allowed from {host}");
        }
        RemoteCommand::List { json } => {
            let rows = c.remotes()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for r in rows {
                    let port = r.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
                    println!("{:<16} {:<40} {port}", r.ae_title, r.host);
                }
            }
        }
        RemoteCommand::Remove { ae_title } => {
            if !c.remove_remote(ae_title.trim())? {
                bail!("no remote AE {ae_title:?} is configured");
            }
            println!("remote AE {} removed", ae_title.trim());
        }
    }
    Ok(())
}
