//! The TOML configuration: every key optional, defaults from the conformance statement
//! (Tables 15 and 16). Closed sets are enums and values with rules are newtypes
//! ([`values`]), so a wrong value is refused while the file is read, with its key; the plain
//! numeric bounds are checked by [`Config::validate`], as a whole, before anything starts.

mod burner_checks;
pub mod commitment;
pub mod jobs;
pub mod label;
pub mod notify;
pub mod retention;
pub mod rules;
pub mod tls;
pub mod values;
pub mod web;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use values::{
    AeTitle, CdCapacity, ConvertTarget, DestinationSyntax, DiscText, FilesetIdPattern,
    InvalidValue, Profile, RemoteHost, Uid, VersionName, VolumeIdPattern,
};

/// Our Implementation Class UID: a UUID-derived UID (PS3.5 B.2), not the statement's vendor one.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.267312939302375511414433714362251802968";
pub const IMPLEMENTATION_VERSION_NAME: &str = concat!("DCMDISC_", env!("CARGO_PKG_VERSION"));

/// Bounds of `[storage_provider] max_pdu_length` (bytes).
pub const MIN_PDU: u32 = 4096;
pub const MAX_PDU: u32 = 4_194_304;

/// Upper bound of `[storage_provider] min_receive_bytes_per_sec`: a minimum above what a
/// slow network really carries would drop honest senders.
pub const MAX_MIN_RATE: u64 = 1_048_576;

/// Why a configuration cannot be used. Each names the key, as `[section] key`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML, has an unknown key, or a value of the wrong type or outside its
    /// type's rule. `key` is empty when the error is not about one key (a syntax error).
    #[error("{}{}{message}{}",
        file.as_ref().map(|f| format!("config file {}: ", f.display())).unwrap_or_default(),
        if key.is_empty() { String::new() } else { format!("{key}: ") },
        line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Parse {
        file: Option<PathBuf>,
        key: String,
        line: Option<usize>,
        message: String,
    },
    /// A number outside its bounds.
    #[error("{key} = {value}: {allowed}")]
    OutOfRange {
        key: &'static str,
        value: u64,
        allowed: &'static str,
    },
    #[error("{key} is empty: {need}")]
    Empty {
        key: &'static str,
        need: &'static str,
    },
    /// A `[[burners]]` entry that cannot be used.
    #[error("[[burners]] {0}")]
    Burner(String),
    /// A `[[rules]]` entry (numbered from 1) that cannot be used.
    #[error("[[rules]] {0}")]
    Rule(String),
    /// A `[[notify]]` entry that cannot be used (its name, number and key).
    #[error("[[notify]] {0}")]
    Notify(String),
    /// A `[web]` value that cannot be used.
    #[error("[web] {0}")]
    Web(String),
    #[error("[storage_provider] transfer_syntax_preference")]
    Preference(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// `[media] viewer_folder` missing, unreadable, or holding a name the disc cannot carry.
    #[error("[media] viewer_folder: {0}")]
    Viewer(#[source] dcmdisc_media::pdi::ViewerError),
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub storage_provider: StorageProvider,
    pub archive: ArchiveSection,
    pub media: MediaSection,
    pub jobs: jobs::JobsSection,
    /// None configured: one folder burner, `folder`, at `<data_dir>/discs`.
    pub burners: Vec<jobs::BurnerConfig>,
    pub retention: retention::RetentionSection,
    /// Automatic disc jobs: the first rule matching a received instance decides.
    pub rules: Vec<rules::RuleConfig>,
    pub web: web::WebSection,
    pub label: label::LabelSection,
    pub tls: tls::TlsSection,
    pub commitment: commitment::CommitmentSection,
    /// Webhook and mail targets of notifications (none: no notices).
    pub notify: Vec<notify::NotifyConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageProvider {
    pub ae_titles: Vec<AeTitle>,
    pub port: u16,
    pub bind_address: IpAddr,
    pub max_pdu_length: u32,
    pub max_associations: u32,
    /// Connections that have not yet had their A-ASSOCIATE-RQ accepted (they hold no place
    /// in the association pool), in all and from one address; beyond: closed at once.
    pub max_pending_connections: u32,
    pub max_pending_per_address: u32,
    pub artim_timeout_secs: u64,
    pub dimse_timeout_secs: u64,
    /// The least progress of a message in progress, over each DIMSE timeout; 0: none.
    pub min_receive_bytes_per_sec: u64,
    pub shutdown_grace_secs: u64,
    pub implementation_class_uid: Uid,
    pub implementation_version_name: VersionName,
    /// Transfer syntax UIDs, checked against the presentation context table by `validate`.
    pub transfer_syntax_preference: Vec<String>,
    /// Converted after receipt, before the success response (bit-preserving when
    /// `as-received`).
    pub destination_transfer_syntax: DestinationSyntax,
}

impl Default for StorageProvider {
    fn default() -> Self {
        StorageProvider {
            // The defaults are literals that satisfy their rules (tested).
            ae_titles: vec![AeTitle::builtin("CDP_PRINTER")],
            port: 104,
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            max_pdu_length: 16384,
            max_associations: 5,
            max_pending_connections: 16,
            max_pending_per_address: 4,
            artim_timeout_secs: 10,
            dimse_timeout_secs: 30,
            min_receive_bytes_per_sec: 1024,
            shutdown_grace_secs: 30,
            implementation_class_uid: Uid::builtin(IMPLEMENTATION_CLASS_UID),
            implementation_version_name: VersionName::builtin(IMPLEMENTATION_VERSION_NAME),
            transfer_syntax_preference: Vec::new(),
            destination_transfer_syntax: DestinationSyntax::AsReceived,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveSection {
    /// Archive files, a tmp folder and the control database. A relative path is relative to
    /// the config file's folder (to the current folder without a config file).
    pub data_dir: PathBuf,
    /// fsync each archive file and its folder entry before answering success.
    pub durable: bool,
}

impl Default for ArchiveSection {
    fn default() -> Self {
        ArchiveSection {
            data_dir: PathBuf::from("./dcmdisc-data"),
            durable: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaSection {
    pub profile: Profile,
    /// CD-R size for STD-GEN-CD.
    pub cd_capacity_mb: CdCapacity,
    pub fileset_id_pattern: FilesetIdPattern,
    /// File-set Consistency Flag (0004,1212). 0 = no known inconsistencies, which is true of
    /// a File-set we write in one go; the statement's FFFFH would tell readers to distrust it.
    pub fileset_consistency_flag: u16,
    /// Who made the disc and whom to ask, in README.TXT and INDEX.HTM (IHE PDI).
    pub institution: DiscText,
    pub contact: DiscText,
    /// IHE_PDI web content on each volume (the renderings; INDEX.HTM and README.TXT are
    /// written either way).
    pub web_content: bool,
    /// The ISO 9660 Volume Identifier: creation date, job (or time) and n OF m by default,
    /// so discs tell apart without patient data.
    pub volume_id: VolumeIdPattern,
    /// Write a Joliet supplementary volume descriptor with the same names beside the Level 1
    /// tree (without it Linux shows the names lower-case).
    pub joliet: bool,
    /// A third-party viewer folder copied opaque to `VIEWERS/` on every volume, counted in
    /// its capacity; every name must be 8.3 once upper-cased (`media::pdi::viewers`). A
    /// relative path is relative to the config file's folder.
    pub viewer_folder: Option<PathBuf>,
}

impl Default for MediaSection {
    fn default() -> Self {
        MediaSection {
            profile: Profile::StdGenCd,
            cd_capacity_mb: CdCapacity::Mb700,
            fileset_id_pattern: FilesetIdPattern::builtin("DCMDISC_{n}OF{m}"),
            fileset_consistency_flag: 0,
            institution: DiscText::builtin(""),
            contact: DiscText::builtin(""),
            web_content: true,
            volume_id: VolumeIdPattern::builtin("{yymmdd}{job}_{n}OF{m}"),
            joliet: true,
            viewer_folder: None,
        }
    }
}

/// `[section] key` from serde's path to the failing value (`storage_provider.ae_titles[0]`).
fn key_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let names: Vec<String> = path
        .iter()
        .filter_map(|s| match s {
            Segment::Map { key } => Some(key.clone()),
            Segment::Enum { variant } => Some(variant.clone()),
            Segment::Seq { .. } | Segment::Unknown => None,
        })
        .collect();
    match names.split_first() {
        None => String::new(),
        Some((section, [])) => format!("[{section}]"),
        Some((section, rest)) => format!("[{section}] {}", rest.join(".")),
    }
}

impl Config {
    /// Reads the file, or the embedded defaults without one. A relative `data_dir` in the
    /// file is made absolute against the file's folder.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut cfg = Config::parse(&text).map_err(|e| match e {
            ConfigError::Parse {
                key, line, message, ..
            } => ConfigError::Parse {
                file: Some(path.to_path_buf()),
                key,
                line,
                message,
            },
            other => other,
        })?;
        cfg.archive.data_dir = resolve_against(path, &cfg.archive.data_dir);
        cfg.label.resolve(path, resolve_against);
        if let Some(p) = cfg.media.viewer_folder.as_mut() {
            *p = resolve_against(path, p);
        }
        for p in [
            &mut cfg.tls.cert,
            &mut cfg.tls.key,
            &mut cfg.tls.client_ca,
            &mut cfg.tls.remote_ca,
        ]
        .into_iter()
        .flatten()
        {
            *p = resolve_against(path, p);
        }
        for t in &mut cfg.notify {
            for p in [&mut t.bearer_token_file, &mut t.password_file]
                .into_iter()
                .flatten()
            {
                *p = resolve_against(path, p);
            }
        }
        Ok(cfg)
    }

    /// Parses TOML text (relative paths are left as they are).
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        serde_path_to_error::deserialize(toml::Deserializer::new(text)).map_err(|e| {
            let key = key_of(e.path());
            let inner = e.into_inner();
            let line = inner
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            ConfigError::Parse {
                file: None,
                key,
                line,
                message: inner.message().trim_end().to_string(),
            }
        })
    }

    /// `[media] viewer_folder` as it is now (read at each export, so its sizes are current).
    pub fn viewers(&self) -> Result<Option<dcmdisc_media::pdi::ViewerFolder>, ConfigError> {
        self.media
            .viewer_folder
            .as_deref()
            .map(dcmdisc_media::pdi::viewers::scan)
            .transpose()
            .map_err(ConfigError::Viewer)
    }

    /// Our identity as a file writer (File Meta Information of converted files).
    pub fn identity(&self) -> dcmdisc_transcode::Identity {
        let sp = &self.storage_provider;
        dcmdisc_transcode::Identity {
            implementation_class_uid: sp.implementation_class_uid.to_string(),
            implementation_version_name: sp.implementation_version_name.to_string(),
        }
    }

    /// The control database's path, absolute.
    pub fn control_database_path(&self) -> PathBuf {
        let p = dcmdisc_archive::control_database_path(&self.archive.data_dir);
        std::path::absolute(&p).unwrap_or(p)
    }

    /// The bounds the value types cannot carry themselves, checked before anything starts.
    pub fn validate(&self) -> Result<(), ConfigError> {
        // Read now, so a missing or unreadable viewer folder stops the start.
        self.viewers()?;
        let sp = &self.storage_provider;
        let t = &self.tls;
        if t.enabled && t.cert.is_none() {
            return Err(ConfigError::Empty {
                key: "[tls] cert",
                need: "the certificate chain (PEM) is needed when [tls] enabled = true",
            });
        }
        if t.enabled && t.key.is_none() {
            return Err(ConfigError::Empty {
                key: "[tls] key",
                need: "the private key (PEM) is needed when [tls] enabled = true",
            });
        }
        if t.require_client_cert && t.client_ca.is_none() {
            return Err(ConfigError::Empty {
                key: "[tls] client_ca",
                need: "require_client_cert needs the CA to verify client certificates with",
            });
        }
        let range = |key, value: u64, lo: u64, hi: u64, allowed| {
            if (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::OutOfRange {
                    key,
                    value,
                    allowed,
                })
            }
        };
        range(
            "[storage_provider] max_pdu_length",
            sp.max_pdu_length.into(),
            MIN_PDU.into(),
            MAX_PDU.into(),
            "allowed range is 4096..=4194304 bytes",
        )?;
        range(
            "[storage_provider] max_associations",
            sp.max_associations.into(),
            1,
            1000,
            "allowed range is 1..=1000",
        )?;
        range(
            "[storage_provider] max_pending_connections",
            sp.max_pending_connections.into(),
            1,
            10000,
            "allowed range is 1..=10000",
        )?;
        range(
            "[storage_provider] max_pending_per_address",
            sp.max_pending_per_address.into(),
            1,
            10000,
            "allowed range is 1..=10000",
        )?;
        range(
            "[storage_provider] min_receive_bytes_per_sec",
            sp.min_receive_bytes_per_sec,
            0,
            MAX_MIN_RATE,
            "allowed range is 0..=1048576 bytes per second (0: no minimum)",
        )?;
        range(
            "[storage_provider] artim_timeout_secs",
            sp.artim_timeout_secs,
            1,
            3600,
            "allowed range is 1..=3600 seconds",
        )?;
        range(
            "[storage_provider] dimse_timeout_secs",
            sp.dimse_timeout_secs,
            1,
            3600,
            "allowed range is 1..=3600 seconds",
        )?;
        range(
            "[storage_provider] shutdown_grace_secs",
            sp.shutdown_grace_secs,
            0,
            3600,
            "allowed range is 0..=3600 seconds",
        )?;
        if sp.ae_titles.is_empty() {
            return Err(ConfigError::Empty {
                key: "[storage_provider] ae_titles",
                need: "at least one local AE title is needed",
            });
        }
        let flag = self.media.fileset_consistency_flag;
        if flag != 0 && flag != 0xFFFF {
            return Err(ConfigError::OutOfRange {
                key: "[media] fileset_consistency_flag",
                value: flag.into(),
                allowed: "0 or 65535",
            });
        }
        jobs::validate(&self.jobs, &self.burners)?;
        retention::validate(&self.retention)?;
        commitment::validate(&self.commitment)?;
        web::validate(&self.web)?;
        range(
            "[jobs] quiet_period_secs",
            self.jobs.quiet_period_secs,
            *rules::QUIET_PERIOD_SECS.start(),
            *rules::QUIET_PERIOD_SECS.end(),
            "allowed range is 1..=86400 seconds",
        )?;
        let burners: Vec<String> = self.burners().into_iter().map(|b| b.name).collect();
        rules::validate(&self.rules, &sp.ae_titles, &burners)?;
        label::validate(&self.label)?;
        notify::validate(&self.notify)?;
        self.contexts()?;
        Ok(())
    }

    /// The burners in use: the configured ones, or the default folder burner.
    pub fn burners(&self) -> Vec<jobs::BurnerConfig> {
        if self.burners.is_empty() {
            vec![jobs::BurnerConfig::default_folder()]
        } else {
            self.burners.clone()
        }
    }

    /// The presentation context table with our transfer syntax preference.
    pub fn contexts(&self) -> Result<dcmdisc_net::ContextTable, ConfigError> {
        dcmdisc_net::ContextTable::standard()
            .and_then(|t| t.with_preference(&self.storage_provider.transfer_syntax_preference))
            .map_err(|e| ConfigError::Preference(Box::new(e)))
    }
}

/// `p` made absolute against the folder of `config_file`.
fn resolve_against(config_file: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let joined = config_file.parent().unwrap_or(Path::new("")).join(p);
    std::path::absolute(&joined).unwrap_or(joined)
}

#[cfg(test)]
mod tests;
