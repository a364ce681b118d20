//! `dcmdisc notify test`: a test notice to every `[[notify]]` target, and what each answered.

use anyhow::{bail, Result};
use dcmdisc_app::{notify, Config};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Send a test notice to every configured target; print each one's result.
    Test,
}

pub fn run(cfg: &Config, cmd: Command) -> Result<()> {
    match cmd {
        Command::Test => {
            cfg.validate()?;
            if cfg.notify.is_empty() {
                bail!("no [[notify]] target is configured (see dcmdisc.example.toml)");
            }
            let outcomes = notify::send_test(cfg);
            let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
            for o in &outcomes {
                match &o.result {
                    Ok(answer) => println!("{} ({}): sent: {answer}", o.name, o.kind),
                    Err(e) => println!("{} ({}): FAILED: {e}", o.name, o.kind),
                }
            }
            if failed > 0 {
                bail!("{failed} of {} targets failed", outcomes.len());
            }
            Ok(())
        }
    }
}
