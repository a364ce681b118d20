//! `[[rules]]`: which received instances make a disc job automatically, and how. The first
//! rule that matches an instance decides; no rule matching: the instance is only collected.

use serde::Deserialize;

use super::values::{AeTitle, InvalidValue, Profile};
use super::ConfigError;
use crate::jobs::Priority;

/// How a rule's job leaves `waiting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartMode {
    /// Once `[jobs] quiet_period_secs` have passed since the patient's last instance.
    #[default]
    Quiet,
    /// When the association that sent the instances is released (A-RELEASE). One that
    /// ends otherwise (aborted, or the server stopped) falls back to the quiet period.
    Release,
}

impl StartMode {
    pub fn name(self) -> &'static str {
        match self {
            StartMode::Quiet => "quiet",
            StartMode::Release => "release",
        }
    }
}

/// A Modality (0008,0060) value, VR CS: 1-16 upper-case letters, digits, space or `_`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Modality(String);

impl Modality {
    pub const RULE: &'static str =
        "a modality (1-16 upper-case letters, digits, space or '_', e.g. CT)";

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Modality {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, InvalidValue> {
        let t = s.trim_matches(' ');
        let ok = !t.is_empty()
            && t.len() <= 16
            && t.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || b == b'_');
        if ok {
            Ok(Modality(t.to_string()))
        } else {
            Err(InvalidValue {
                value: format!("{s:?}"),
                rule: Self::RULE,
            })
        }
    }
}

/// `[[rules]]`: what to match (each key optional; every one given must match) and the job
/// to make.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The AE title the sender called: one of `[storage_provider] ae_titles`.
    pub called_ae: Option<AeTitle>,
    /// The sender's AE title.
    pub calling_ae: Option<AeTitle>,
    pub modality: Option<Modality>,
    #[serde(default = "one")]
    pub copies: u32,
    /// Default: `[media] profile`.
    pub profile: Option<Profile>,
    /// Default: the first burner.
    pub burner: Option<String>,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default)]
    pub start: StartMode,
}

fn one() -> u32 {
    1
}

impl RuleConfig {
    /// AE titles as the association carries them (trailing and leading spaces are padding,
    /// PS3.8 9.3.2: the network layer hands them over trimmed) compare exactly, as the
    /// called AE is compared at A-ASSOCIATE; the modality as the index keeps it (trimmed).
    pub fn matches(&self, called_ae: &str, calling_ae: &str, modality: Option<&str>) -> bool {
        self.called_ae
            .as_ref()
            .is_none_or(|a| a.as_str() == called_ae.trim_matches(' '))
            && self
                .calling_ae
                .as_ref()
                .is_none_or(|a| a.as_str() == calling_ae.trim_matches(' '))
            && self
                .modality
                .as_ref()
                .is_none_or(|m| Some(m.as_str()) == modality.map(|v| v.trim_matches(' ')))
    }
}

/// The first rule matching, with its 1-based number.
pub fn first_match<'a>(
    rules: &'a [RuleConfig],
    called_ae: &str,
    calling_ae: &str,
    modality: Option<&str>,
) -> Option<(u32, &'a RuleConfig)> {
    rules
        .iter()
        .enumerate()
        .find(|(_, r)| r.matches(called_ae, calling_ae, modality))
        .map(|(i, r)| (i as u32 + 1, r))
}

/// Bounds of `[jobs] quiet_period_secs`.
pub const QUIET_PERIOD_SECS: std::ops::RangeInclusive<u64> = 1..=86_400;

/// Copies within 1..=99, a burner that is configured, a called AE that is ours (a rule on
/// another could never match).
pub(super) fn validate(
    rules: &[RuleConfig],
    ae_titles: &[AeTitle],
    burners: &[String],
) -> Result<(), ConfigError> {
    for (i, r) in rules.iter().enumerate() {
        let n = i + 1;
        if !(1..=99).contains(&r.copies) {
            return Err(ConfigError::Rule(format!(
                "{n}: copies = {}: allowed range is 1..=99",
                r.copies
            )));
        }
        if let Some(b) = &r.burner {
            if !burners.contains(b) {
                return Err(ConfigError::Rule(format!(
                    "{n}: burner = {b:?} is not one of the configured burners ({})",
                    burners.join(", ")
                )));
            }
        }
        if let Some(a) = &r.called_ae {
            if !ae_titles.contains(a) {
                return Err(ConfigError::Rule(format!(
                    "{n}: called_ae = {:?} is not one of [storage_provider] ae_titles, so it \
                     would never match",
                    a.as_str()
                )));
            }
        }
    }
    Ok(())
}
