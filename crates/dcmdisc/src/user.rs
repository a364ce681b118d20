//! `dcmdisc user add|remove|passwd|token`, `dcmdisc users`, `dcmdisc audit`: the web login's
//! users (docs/security.md). A password is never an argument (it would be in the shell's
//! history and in `ps`): it is read from the terminal without echo, twice, or as the first
//! line of standard input when that is not a terminal (or with `--password-stdin`).

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context, Result};
use dcmdisc_app::users::{Role, UserName};
use dcmdisc_app::{Config, ControlDb, Open};

use crate::table::{row, Col};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Add a user of the web pages and API (password from the terminal, or stdin).
    Add {
        name: UserName,
        /// operator (make, cancel, retry discs; pause burners) or admin (also remote AEs,
        /// users, retention).
        #[arg(long)]
        role: Role,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove a user (their sessions end at once).
    Remove { name: UserName },
    /// Set a user's password (their sessions end).
    Passwd {
        name: UserName,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Make a new API token for a user (`Authorization: Bearer ...`), replacing any earlier
    /// one; it is printed once, only its hash is kept.
    Token { name: UserName },
}

#[derive(clap::Args)]
pub struct UsersArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct AuditArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// The newest N entries.
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

fn password(from_stdin: bool) -> Result<String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = rpassword::prompt_password("Password: ").context("reading the password")?;
    let again = rpassword::prompt_password("Again: ").context("reading the password")?;
    if first != again {
        bail!("the two passwords differ; nothing changed");
    }
    Ok(first)
}

/// Who ran the command, for the audit log.
fn actor() -> String {
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("cli:{}", who.chars().take(32).collect::<String>())
}

fn audit(db: &ControlDb, action: &str) -> Result<()> {
    db.audit(&actor(), action, "local", "ok")?;
    Ok(())
}

pub fn run(cfg: &Config, cmd: Command) -> Result<()> {
    match cmd {
        Command::Add {
            name,
            role,
            password_stdin,
        } => {
            let pw = password(password_stdin)?;
            let db = crate::open_control(cfg, Open::CreateIfMissing)?;
            db.add_user(&name, role, &pw)?;
            audit(&db, &format!("user add {name} --role {role}"))?;
            println!("user {name} added ({role})");
        }
        Command::Remove { name } => {
            let db = crate::open_control(cfg, Open::Existing)?;
            db.remove_user(&name)?;
            audit(&db, &format!("user remove {name}"))?;
            println!("user {name} removed");
        }
        Command::Passwd {
            name,
            password_stdin,
        } => {
            let pw = password(password_stdin)?;
            let db = crate::open_control(cfg, Open::Existing)?;
            db.set_password(&name, &pw)?;
            audit(&db, &format!("user passwd {name}"))?;
            println!("password of {name} changed; their sessions ended");
        }
        Command::Token { name } => {
            let db = crate::open_control(cfg, Open::Existing)?;
            let token = db.new_token(&name)?;
            audit(&db, &format!("user token {name}"))?;
            eprintln!("API token of {name} (shown once; send it as Authorization: Bearer ...):");
            println!("{token}");
        }
    }
    Ok(())
}

const USER_COLS: [Col; 4] = [Col::left(20), Col::left(10), Col::left(6), Col::left(0)];

pub fn users(cfg: &Config, args: UsersArgs) -> Result<()> {
    let rows = crate::open_control(cfg, Open::Existing)?.users()?;
    if args.json {
        return crate::print_json(&rows);
    }
    println!(
        "{}",
        row(&USER_COLS, &[&"NAME", &"ROLE", &"TOKEN", &"CREATED"])
    );
    for u in rows {
        let token = if u.has_token { "yes" } else { "no" };
        println!(
            "{}",
            row(&USER_COLS, &[&u.name, &u.role, &token, &u.created])
        );
    }
    Ok(())
}

const AUDIT_COLS: [Col; 5] = [
    Col::left(24),
    Col::left(16),
    Col::left(16),
    Col::left(6),
    Col::left(0),
];

pub fn audit_log(cfg: &Config, args: AuditArgs) -> Result<()> {
    let rows = crate::open_control(cfg, Open::Existing)?.audit_log(args.limit.max(1))?;
    if args.json {
        return crate::print_json(&rows);
    }
    println!(
        "{}",
        row(
            &AUDIT_COLS,
            &[&"TIME", &"WHO", &"FROM", &"OUTCOME", &"WHAT"]
        )
    );
    for a in rows {
        println!(
            "{}",
            row(
                &AUDIT_COLS,
                &[&a.time, &a.actor, &a.peer, &a.outcome, &a.action]
            )
        );
    }
    Ok(())
}
