//! `dcmdisc patient pin|unpin ID`: keep a collection in the temporary store whatever
//! retention's rules say, or let them decide again.

use anyhow::Result;
use dcmdisc_app::{retention, Config, Open};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Keep this collection: retention never removes it.
    Pin {
        /// The collection (the ID column of `dcmdisc patients`).
        id: i64,
    },
    /// Let retention's rules decide for this collection again.
    Unpin { id: i64 },
}

pub fn run(cfg: &Config, cmd: Command) -> Result<()> {
    let db = crate::open_control(cfg, Open::Existing)?;
    match cmd {
        Command::Pin { id } => {
            retention::pin(&db, id, true)?;
            println!("collection {id} pinned: retention keeps it");
        }
        Command::Unpin { id } => {
            retention::pin(&db, id, false)?;
            println!("collection {id} unpinned");
        }
    }
    Ok(())
}
