//! `dcmdisc remote`: the remote AEs allowed to connect.

use anyhow::Result;
use dcmdisc_app::config::{AeTitle, RemoteHost};
use dcmdisc_app::{Config, Open};

use crate::table::{row, Col};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Allow AE_TITLE to connect from HOST (IP address, host name, or `any`).
    Add {
        /// The calling AE title the remote uses (1-16 characters, no backslash).
        ae_title: AeTitle,
        /// Where it connects from: an IP address, a host name, or `any`.
        #[arg(long)]
        host: RemoteHost,
        /// Port where the remote accepts associations (informational for now).
        #[arg(long)]
        port: Option<u16>,
        /// Associations dcmdisc opens to it (Storage Commitment reports, to PORT) use DICOM
        /// TLS: its certificate is checked against `[tls] remote_ca` (else `client_ca`) and
        /// HOST, and ours (`[tls] cert`) is presented.
        #[arg(long)]
        tls: bool,
    },
    /// List the remote AEs allowed to connect.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Stop allowing AE_TITLE to connect.
    Remove {
        /// The calling AE title, as added.
        ae_title: AeTitle,
    },
}

const COLS: [Col; 3] = [Col::left(16), Col::left(40), Col::left(0)];

pub fn run(cfg: &Config, cmd: Command) -> Result<()> {
    match cmd {
        Command::Add {
            ae_title,
            host,
            port,
            tls,
        } => {
            let db = crate::open_control(cfg, Open::CreateIfMissing)?;
            db.add_remote(&ae_title, &host, port)?;
            db.set_remote_tls(&ae_title, tls)?;
            let over = if tls {
                " (outgoing associations over TLS)"
            } else {
                ""
            };
            println!("remote AE {ae_title} allowed from {host}{over}");
        }
        Command::List { json } => {
            let rows = crate::open_control(cfg, Open::Existing)?.remotes()?;
            if json {
                return crate::print_json(&rows);
            }
            for r in rows {
                let mut port = r.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
                if r.tls {
                    port.push_str(" tls");
                }
                println!("{}", row(&COLS, &[&r.ae_title, &r.host, &port]));
            }
        }
        Command::Remove { ae_title } => {
            crate::open_control(cfg, Open::Existing)?.remove_remote(&ae_title)?;
            println!("remote AE {ae_title} removed");
        }
    }
    Ok(())
}
