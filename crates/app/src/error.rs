//! The application layer's error: what went wrong, with the cause kept as its `source`.

use std::net::SocketAddr;
use std::path::PathBuf;

use dcmdisc_archive::ArchiveError;
use dcmdisc_media::export::ExportError;
use dcmdisc_transcode::TranscodeError;

use crate::config::{AeTitle, ConfigError, ConvertTarget};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Label(#[from] dcmdisc_label::LabelError),
    /// A `[tls]` file that cannot be used (missing, not PEM, a key not the certificate's).
    #[error("{key}: {why}")]
    Tls { key: &'static str, why: String },
    /// A command that only reads found no control database (and made none).
    #[error(
        "no control database at {} (set [archive] data_dir in the --config file, or --data-dir)",
        path.display()
    )]
    NoDatabase { path: PathBuf },
    #[error("opening the control database in {}", data_dir.display())]
    OpenControl {
        data_dir: PathBuf,
        #[source]
        source: ArchiveError,
    },
    /// A query of the control database failed.
    #[error(transparent)]
    Control(#[from] ArchiveError),
    #[error("opening the archive in {}", data_dir.display())]
    OpenArchive {
        data_dir: PathBuf,
        #[source]
        source: ArchiveError,
    },
    #[error(
        "cannot listen on {addr}: permission denied (ports below 1024 need privileges); \
         run with --port 11112 or set [storage_provider] port"
    )]
    ListenDenied { addr: SocketAddr },
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the DICOM service failed")]
    Serve(#[source] std::io::Error),
    #[error("user name {0:?}: 1 to 64 letters, digits, '.', '_' or '-'")]
    BadUserName(String),
    #[error("role {0:?}: expected operator or admin")]
    BadRole(String),
    #[error("a password needs at least {0} characters")]
    WeakPassword(usize),
    #[error("user {0:?} exists already (change the password with `dcmdisc user passwd`)")]
    UserExists(String),
    #[error("no user {0:?} (see `dcmdisc users`)")]
    NoSuchUser(String),
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    #[error("the operating system gave no random bytes: {0}")]
    Random(String),
    #[error("no job {0}")]
    NoSuchJob(i64),
    #[error("no burner {0:?} is configured (see `dcmdisc burners`)")]
    NoSuchBurner(String),
    #[error("job {id} is {state}: {action}")]
    JobState {
        id: i64,
        state: String,
        action: &'static str,
    },
    #[error(
        "job {job} cannot be made again: retention removed collection {collection} from the \
         temporary store at {when}{detail}"
    )]
    CollectionRemoved {
        job: i64,
        collection: i64,
        when: String,
        /// More of the story (`; its images are gone too (...)`), or empty.
        detail: String,
    },
    #[error("copies must be 1 to 99")]
    Copies,
    #[error("job {id}: {what}")]
    JobFiles {
        id: i64,
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no remote AE {:?} is configured", .0.as_str())]
    NoSuchRemote(AeTitle),
    #[error("{} is not a folder", .0.display())]
    NotAFolder(PathBuf),
    #[error("reading {}", path.display())]
    Scan {
        path: PathBuf,
        #[source]
        source: ExportError,
    },
    #[error("no DICOM instances found in {}", .0.display())]
    NoInstances(PathBuf),
    /// Instances of a source folder that cannot go on the disc, each `path: why`; the export
    /// made nothing.
    #[error(
        "{} instance(s) in {} cannot go on the disc:\n  {}\n(export again with \
         --leave-out-unreadable to leave them out; each volume's README then lists them)",
        list.len(),
        src.display(),
        list.join("\n  ")
    )]
    CannotGoOnDisc { src: PathBuf, list: Vec<String> },
    /// A job's configured Volume Identifier pattern cannot hold this job number.
    #[error("the [media] volume_id pattern cannot hold job number {0}")]
    VolumeIdJob(i64),
    #[error("collection {0} does not exist or is empty (see `dcmdisc patients`)")]
    NoSuchCollection(i64),
    #[error("reading collection {id}")]
    ReadCollection {
        id: i64,
        #[source]
        source: ExportError,
    },
    #[error("the volume capacity must be at least 1 MiB")]
    ZeroCapacity,
    #[error("exporting {label}")]
    Export {
        label: String,
        #[source]
        source: ExportError,
    },
    #[error("converting {} to {target}", input.display())]
    Convert {
        input: PathBuf,
        target: ConvertTarget,
        #[source]
        source: TranscodeError,
    },
    /// The operation stopped because its shutdown token was triggered.
    #[error(
        "{} is not empty (it holds {example}): an export writes only into a new or empty \
         folder, so that volumes of different exports never mix",
        path.display()
    )]
    OutputNotEmpty { path: PathBuf, example: String },
    #[error("writing the export to {}", path.display())]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cancelled")]
    Cancelled,
    /// A listing's filter that cannot be used.
    #[error("{name} = {value:?}: expected {allowed}")]
    BadFilter {
        name: &'static str,
        value: String,
        allowed: &'static str,
    },
    /// `DCMDISC_TEST_CLOCK` set to something that is not Unix seconds.
    #[error("DCMDISC_TEST_CLOCK={0:?}: expected whole seconds since 1970-01-01 UTC")]
    TestClock(String),
}

/// An error and its causes, `: `-separated, for a job's reason and the log.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}
