//! The TOML configuration: every key optional, defaults from the conformance statement
//! (Tables 15 and 16), validated as a whole before anything starts.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// Our Implementation Class UID: a UUID-derived UID (PS3.5 B.2), not the statement's vendor one.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.267312939302375511414433714362251802968";
pub const IMPLEMENTATION_VERSION_NAME: &str = concat!("DCMDISC_", env!("CARGO_PKG_VERSION"));

pub const MIN_PDU: u32 = 4096;
pub const MAX_PDU: u32 = 4_194_304;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub storage_provider: StorageProvider,
    pub archive: ArchiveSection,
    pub media: MediaSection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaSection {
    /// STD-GEN-CD, STD-GEN-DVD-JPEG, STD-GEN-BD, STD-GEN-USB-JPEG.
    pub profile: String,
    /// CD-R size for STD-GEN-CD: 650 or 700 (MB).
    pub cd_capacity_mb: u32,
    /// File-set ID: `{n}` volume number, `{m}` volume count; at most 16 characters of
    /// A-Z, 0-9, _ and space once expanded.
    pub fileset_id_pattern: String,
    /// File-set Consistency Flag (0004,1212). 0 = no known inconsistencies, which is true of
    /// a File-set we write in one go; the statement's FFFFH would tell readers to distrust it.
    pub fileset_consistency_flag: u16,
}

impl Default for MediaSection {
    fn default() -> Self {
        MediaSection {
            profile: "STD-GEN-CD".into(),
            cd_capacity_mb: 700,
            fileset_id_pattern: "DCMDISC_{n}OF{m}".into(),
            fileset_consistency_flag: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageProvider {
    pub ae_titles: Vec<String>,
    pub port: u16,
    pub bind_address: String,
    pub max_pdu_length: u32,
    pub max_associations: u32,
    pub artim_timeout_secs: u64,
    pub dimse_timeout_secs: u64,
    pub shutdown_grace_secs: u64,
    pub implementation_class_uid: String,
    pub implementation_version_name: String,
    pub transfer_syntax_preference: Vec<String>,
    /// `as-received` (bit-preserving), `explicit-le` or `implicit-le`: converted after
    /// receipt, before the success response.
    pub destination_transfer_syntax: String,
}

impl Default for StorageProvider {
    fn default() -> Self {
        StorageProvider {
            ae_titles: vec!["CDP_PRINTER".into()],
            port: 104,
            bind_address: "0.0.0.0".into(),
            max_pdu_length: 16384,
            max_associations: 5,
            artim_timeout_secs: 10,
            dimse_timeout_secs: 30,
            shutdown_grace_secs: 30,
            implementation_class_uid: IMPLEMENTATION_CLASS_UID.into(),
            implementation_version_name: IMPLEMENTATION_VERSION_NAME.into(),
            transfer_syntax_preference: Vec::new(),
            destination_transfer_syntax: "as-received".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveSection {
    pub data_dir: PathBuf,
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

fn valid_uid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c == "0" || !c.starts_with('0'))
        })
}

fn valid_ae(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && s.len() <= 16 && s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'\\')
}

impl Config {
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let cfg = match path {
            None => Config::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read config file {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("config file {}", p.display()))?
            }
        };
        Ok(cfg)
    }

    /// Our identity as a file writer (File Meta Information of converted files).
    pub fn identity(&self) -> dcmdisc_transcode::Identity {
        dcmdisc_transcode::Identity {
            implementation_class_uid: self.storage_provider.implementation_class_uid.clone(),
            implementation_version_name: self.storage_provider.implementation_version_name.clone(),
        }
    }

    pub fn validate(&self) -> Result<()> {
        let sp = &self.storage_provider;
        if !(MIN_PDU..=MAX_PDU).contains(&sp.max_pdu_length) {
            bail!(
                "[storage_provider] max_pdu_length = {}: allowed range is {MIN_PDU}..={MAX_PDU} bytes",
                sp.max_pdu_length
            );
        }
        if !(1..=1000).contains(&sp.max_associations) {
            bail!(
                "[storage_provider] max_associations = {}: allowed range is 1..=1000",
                sp.max_associations
            );
        }
        for (key, v) in [
            ("artim_timeout_secs", sp.artim_timeout_secs),
            ("dimse_timeout_secs", sp.dimse_timeout_secs),
        ] {
            if !(1..=3600).contains(&v) {
                bail!("[storage_provider] {key} = {v}: allowed range is 1..=3600 seconds");
            }
        }
        if sp.shutdown_grace_secs > 3600 {
            bail!(
                "[storage_provider] shutdown_grace_secs = {}: allowed range is 0..=3600 seconds",
                sp.shutdown_grace_secs
            );
        }
        if sp.ae_titles.is_empty() {
            bail!("[storage_provider] ae_titles is empty: at least one local AE title is needed");
        }
        for ae in &sp.ae_titles {
            if !valid_ae(ae) {
                bail!("[storage_provider] ae_titles: {ae:?} is not an AE title (1-16 printable characters, no backslash)");
            }
        }
        if sp.bind_address.parse::<std::net::IpAddr>().is_err() {
            bail!(
                "[storage_provider] bind_address = {:?}: not an IP address",
                sp.bind_address
            );
        }
        if !valid_uid(&sp.implementation_class_uid) {
            bail!(
                "[storage_provider] implementation_class_uid = {:?}: not a UID (digits and dots, at most 64 characters)",
                sp.implementation_class_uid
            );
        }
        let name = &sp.implementation_version_name;
        if name.is_empty()
            || name.len() > 16
            || !name
                .bytes()
                .all(|b| (0x21..0x7f).contains(&b) && b != b'\\')
        {
            bail!("[storage_provider] implementation_version_name = {name:?}: 1-16 printable characters");
        }
        if !matches!(
            sp.destination_transfer_syntax.as_str(),
            "as-received" | "explicit-le" | "implicit-le"
        ) {
            bail!(
                "[storage_provider] destination_transfer_syntax = {:?}: one of as-received, explicit-le, implicit-le",
                sp.destination_transfer_syntax
            );
        }
        let m = &self.media;
        if dcmdisc_media::export::Profile::parse(&m.profile).is_none() {
            bail!(
                "[media] profile = {:?}: one of STD-GEN-CD, STD-GEN-DVD-JPEG, STD-GEN-BD, STD-GEN-USB-JPEG",
                m.profile
            );
        }
        if m.cd_capacity_mb != 650 && m.cd_capacity_mb != 700 {
            bail!("[media] cd_capacity_mb = {}: 650 or 700", m.cd_capacity_mb);
        }
        let id = m
            .fileset_id_pattern
            .replace("{n}", "999")
            .replace("{m}", "999");
        if id.is_empty()
            || id.len() > 16
            || !id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b' ')
        {
            bail!(
                "[media] fileset_id_pattern = {:?}: expanded (up to 999 volumes) it must be 1-16 characters of A-Z, 0-9, _ and space",
                m.fileset_id_pattern
            );
        }
        if m.fileset_consistency_flag != 0 && m.fileset_consistency_flag != 0xFFFF {
            bail!(
                "[media] fileset_consistency_flag = {}: 0 or 65535",
                m.fileset_consistency_flag
            );
        }
        dcmdisc_net::ContextTable::standard()?
            .with_preference(&sp.transfer_syntax_preference)
            .context("[storage_provider] transfer_syntax_preference")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_statement_defaults() {
        let c: Config = toml::from_str("").unwrap();
        assert_eq!(c.storage_provider.ae_titles, vec!["CDP_PRINTER"]);
        assert_eq!(c.storage_provider.port, 104);
        assert_eq!(c.storage_provider.max_pdu_length, 16384);
        assert_eq!(c.storage_provider.max_associations, 5);
        assert_eq!(c.storage_provider.artim_timeout_secs, 10);
        assert_eq!(c.storage_provider.dimse_timeout_secs, 30);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn example_file_parses_and_matches_defaults() {
        let text = include_str!("../../../dcmdisc.example.toml");
        let c: Config = toml::from_str(text).unwrap();
        c.validate().unwrap();
        assert_eq!(c.storage_provider.max_pdu_length, 16384);
    }

    #[test]
    fn bad_values_name_the_key_and_range() {
        let c: Config = toml::from_str("[storage_provider]\nmax_pdu_length = 100").unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("max_pdu_length") && e.contains("4096..=4194304"),
            "{e}"
        );
        assert!(toml::from_str::<Config>("[storage_provider]\nmax_pdu = 100").is_err());
        assert!(valid_uid("2.25.1") && !valid_uid("1..2") && !valid_uid("1.02"));
    }
}
