//! `[retention]`: how long the temporary store keeps a collection whose discs are made.

use serde::Deserialize;

use super::ConfigError;

/// `[retention]`. The default removes nothing: `keep_forever = true`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSection {
    /// Nothing is ever removed (the default); the sweeper still warns at the high-water mark.
    pub keep_forever: bool,
    /// With `keep_forever = false`: hours a collection is kept after its last disc was
    /// verified (0: removed at the next pass).
    pub keep_hours: u64,
    /// With `keep_forever = false`: when the file system holding `data_dir` is at least this
    /// full (percent), the oldest done collections are removed first, their keep time or not,
    /// until it is below. Also where the operator is alerted of collections never burned.
    pub high_water_percent: u64,
    /// How often the sweeper inside `serve` runs a pass.
    pub interval_secs: u64,
}

impl Default for RetentionSection {
    fn default() -> Self {
        RetentionSection {
            keep_forever: true,
            keep_hours: 168,
            high_water_percent: 90,
            interval_secs: 300,
        }
    }
}

pub(super) fn validate(r: &RetentionSection) -> Result<(), ConfigError> {
    let check = |key, value: u64, lo: u64, hi: u64, allowed| {
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
    check(
        "[retention] keep_hours",
        r.keep_hours,
        0,
        876_000,
        "allowed range is 0..=876000 hours",
    )?;
    check(
        "[retention] high_water_percent",
        r.high_water_percent,
        1,
        100,
        "allowed range is 1..=100 percent",
    )?;
    check(
        "[retention] interval_secs",
        r.interval_secs,
        1,
        86_400,
        "allowed range is 1..=86400 seconds",
    )
}
