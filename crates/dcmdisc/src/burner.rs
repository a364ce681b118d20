//! `dcmdisc burner pause|resume`: hold a burner (it takes no next disc, its jobs wait) and
//! let it go on; the state is kept in the control database, so a running `serve` sees it.

use anyhow::Result;
use dcmdisc_app::{jobs, Config, Open};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Pause a burner: the disc being burned is finished, no next one is taken.
    Pause {
        /// The burner's name (see `dcmdisc burners`).
        name: String,
        /// Why, shown by `dcmdisc burners` and on the jobs it holds.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Resume a paused burner (also clears its rejects in a row).
    Resume { name: String },
}

pub fn run(cfg: &Config, cmd: Command) -> Result<()> {
    let db = crate::open_control(cfg, Open::Existing)?;
    match cmd {
        Command::Pause { name, reason } => {
            jobs::pause_burner(cfg, &db, &name, &reason)?;
            println!("burner {name} paused");
        }
        Command::Resume { name } => {
            jobs::resume_burner(cfg, &db, &name)?;
            println!("burner {name} resumed");
        }
    }
    Ok(())
}
