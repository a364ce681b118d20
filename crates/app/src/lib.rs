//! dcmdisc's application layer: what the product does, as functions over typed values, for
//! every front end — the command line, the job worker and the web API's handlers.
//!
//! It holds the typed configuration ([`config`]: serde enums and newtypes, one
//! [`Config::validate`]), the wiring of the network layer to the archive ([`service`], with
//! what Storage Commitment means over it in `commitment`), one
//! shutdown token for every long-running part ([`Shutdown`]), and the operations: export a
//! collection or a folder ([`export`], with typed [`Progress`] and cancellation), convert a
//! file ([`convert`]), render files to JPEG ([`render`]) and the images of a disc's web content ([`web_render`]), the listings and the remote AE table ([`ControlDb`]), and disc jobs
//! ([`jobs`]: the queue's operations and the worker) with their [`burners`], the temporary
//! store's [`retention`] (the pass, the sweeper, pinning); what changed, in order
//! ([`events`]), the associations open now ([`activity`]), and each volume's [`label`] (the
//! facts of its files into `dcmdisc-label`).
//!
//! It is not a front end: it parses no command line, prints nothing and installs no signal
//! handler or log subscriber (it logs through `tracing`; the binary decides where that goes).
//! It does no DICOM, network, storage or media work of its own: that is the libraries'
//! (net, archive, media, transcode), which know nothing of each other; this crate joins them.
//!
//! ```no_run
//! use dcmdisc_app::{Config, ControlDb, Open};
//!
//! let cfg = Config::load(Some(std::path::Path::new("dcmdisc.toml")))?;
//! let db = ControlDb::open(&cfg, Open::Existing)?;
//! for p in db.patients()? {
//!     println!("{} {}", p.id, p.patient_name);
//! }
//! # Ok::<(), dcmdisc_app::AppError>(())
//! ```

pub mod activity;
pub mod burners;
mod commitment;
mod commitment_reports;
pub mod config;
pub mod control;
pub mod convert;
mod error;
pub mod events;
pub mod export;
pub mod jobs;
pub mod label;
mod mcm;
pub mod metrics;
pub mod notify;
mod output;
pub mod plan;
pub mod progress;
pub mod render;
pub mod retention;
pub mod service;
mod shutdown;
#[cfg(test)]
mod testutil;
mod tls;
pub mod users;
pub mod web_render;

pub use activity::{Activity, AssociationChange, AssociationView};
pub use config::{Config, ConfigError};
pub use control::{ControlDb, Open};
pub use error::AppError;
pub use progress::{Count, Progress, Stage};
pub use service::{Listening, Service, Stopped};
pub use shutdown::Shutdown;

/// What arrived since a time (the dashboard's "today").
pub use dcmdisc_archive::today::Received;
/// The rows the listings return (the archive's types, serializable).
pub use dcmdisc_archive::{
    AuditRow, Collection, InstanceRow, LogEntry, LogQuery, LogStatus, RemoteAe,
};
/// What a conversion did.
pub use dcmdisc_transcode::ConvertReport;
