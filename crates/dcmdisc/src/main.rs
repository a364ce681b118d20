//! dcmdisc: the DICOM media center binary. It parses the command line, calls the application
//! layer (crates/app) and prints; one module per subcommand. The work is the libraries'.

mod burner;
mod burners;
mod convert;
mod events;
mod export;
mod instances;
mod job;
mod jobs;
mod label;
mod log;
mod man;
mod notify;
mod patient;
mod patients;
mod pixel;
mod remote;
mod render;
mod retention;
mod serve;
mod signals;
mod table;
mod user;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use dcmdisc_app::{AppError, Config, ControlDb, Open};

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
    Serve(serve::Args),
    /// Remote AEs allowed to connect.
    #[command(subcommand)]
    Remote(remote::Command),
    /// List patient collections.
    Patients(patients::Args),
    /// List stored instances.
    Instances(instances::Args),
    /// Build disc volumes (DICOMDIR + instances + ISO 9660 image) for one patient collection,
    /// or for every patient found in a folder of DICOM files.
    Export(export::Args),
    /// Convert a DICOM file to Explicit or Implicit VR Little Endian (decompressing JPEG/RLE).
    Convert(convert::Args),
    /// Render DICOM files to JPEG, one per frame at the default window.
    Render(render::Args),
    /// Print the modality value (HU for CT) of one stored pixel of a DICOM file.
    Pixel(pixel::Args),
    /// Show the extended store log, newest last.
    Log(log::Args),
    /// One disc job: create, show, cancel, retry.
    #[command(subcommand)]
    Job(job::Command),
    /// List the disc jobs.
    Jobs(jobs::Args),
    /// List the configured burners and their state.
    Burners(burners::Args),
    /// Pin or unpin a patient collection (retention never removes a pinned one).
    #[command(subcommand)]
    Patient(patient::Command),
    /// Run one retention pass of the temporary store, or explain one (--dry-run).
    Retention(retention::Args),
    /// One burner: pause, resume.
    #[command(subcommand)]
    Burner(burner::Command),
    /// The event log: every job state change and disc, oldest first (as `GET /api/events`).
    Events(events::Args),
    /// Write one disc label (SVG and PDF) from facts given here, to check a layout or a font.
    Label(label::Args),
    /// One user of the web pages and API: add, remove, passwd, token.
    #[command(subcommand)]
    User(user::Command),
    /// List the users of the web pages and API.
    Users(user::UsersArgs),
    /// The audit log: every state-changing web request, login and user change (newest last).
    Audit(user::AuditArgs),
    /// Notifications (`[[notify]]` webhooks and mail): test.
    #[command(subcommand)]
    Notify(notify::Command),
    /// The manual pages, generated from this command line (the Debian package installs them).
    #[command(hide = true)]
    Man(man::Args),
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        if matches!(e.downcast_ref(), Some(AppError::Cancelled)) {
            // Stopped by a signal (see signals.rs): the shell's convention for SIGINT.
            eprintln!("dcmdisc: stopped; what was completed is kept, nothing half-written");
            std::process::exit(130);
        }
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
        Command::Serve(args) => serve::run(cfg, args),
        Command::Remote(cmd) => remote::run(&cfg, cmd),
        Command::Patients(args) => patients::run(&cfg, args),
        Command::Instances(args) => instances::run(&cfg, args),
        Command::Export(args) => export::run(&cfg, args),
        Command::Convert(args) => convert::run(&cfg, args),
        Command::Render(args) => render::run(args),
        Command::Pixel(args) => pixel::run(args),
        Command::Log(args) => log::run(&cfg, args),
        Command::Job(cmd) => job::run(&cfg, cmd),
        Command::Jobs(args) => jobs::run(&cfg, args),
        Command::Burners(args) => burners::run(&cfg, args),
        Command::Patient(cmd) => patient::run(&cfg, cmd),
        Command::Retention(args) => retention::run(&cfg, args),
        Command::Burner(cmd) => burner::run(&cfg, cmd),
        Command::Events(args) => events::run(&cfg, args),
        Command::Label(args) => label::run(&cfg, args),
        Command::User(cmd) => user::run(&cfg, cmd),
        Command::Users(args) => user::users(&cfg, args),
        Command::Audit(args) => user::audit_log(&cfg, args),
        Command::Notify(cmd) => notify::run(&cfg, cmd),
        Command::Man(args) => man::run(args),
    }
}

/// Opens the control database; when that created it, says so with its full path, so that a
/// wrong data folder is seen at once.
fn open_control(cfg: &Config, mode: Open) -> Result<ControlDb> {
    let db = ControlDb::open(cfg, mode)?;
    if let Some(path) = db.created() {
        eprintln!(
            "dcmdisc: created a new control database at {}",
            path.display()
        );
    }
    Ok(db)
}

/// Prints rows as pretty JSON.
fn print_json<T: serde::Serialize>(rows: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(rows)?);
    Ok(())
}
