//! `[[notify]]`: where notices go (a webhook or a mail relay) and which conditions each
//! target wants. One flat table per target, so a key of the other kind is refused by name
//! instead of being ignored.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The kinds of target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyKind {
    /// An HTTP(S) POST of the notice as JSON.
    Webhook,
    /// A plain-text mail through an SMTP relay.
    Email,
}

/// The conditions a target can want (all four by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    /// A burner paused (by the operator or after rejects in a row), or out of discs.
    Burner,
    /// A disc job failed.
    JobFailed,
    /// The disk holding the data folder at or over `[retention] high_water_percent`.
    Disk,
    /// Instances refused for lack of resources or a storage error (A7xx).
    Store,
}

impl NotifyEvent {
    pub const ALL: [NotifyEvent; 4] = [
        NotifyEvent::Burner,
        NotifyEvent::JobFailed,
        NotifyEvent::Disk,
        NotifyEvent::Store,
    ];
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded by STARTTLS (required, not opportunistic); port 587.
    Starttls,
    /// TLS from the first byte ("SMTPS"); port 465.
    Tls,
    /// No TLS at all: only for a relay on the same host.
    None,
}

/// One `[[notify]]` entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Names the target in logs, `notify test` and the cursor kept in the database (so
    /// renaming a target starts it afresh from the newest event).
    pub name: String,
    pub kind: NotifyKind,
    #[serde(default = "all_events")]
    pub events: Vec<NotifyEvent>,
    /// Send the patient's name and ID of a job's notice (as the operator pages show them).
    #[serde(default)]
    pub include_patient: bool,
    /// Refused stores within this many seconds of the first make one notice with a count.
    #[serde(default = "default_coalesce")]
    pub coalesce_secs: u64,
    /// Each attempt's limit (connect, TLS, answer).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// webhook: `http://` or `https://` (verified against the Mozilla roots).
    pub url: Option<String>,
    /// webhook: a file whose first line is sent as `Authorization: Bearer ...`.
    pub bearer_token_file: Option<PathBuf>,
    /// webhook: extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// email: the relay.
    pub host: Option<String>,
    /// email: default 587 (starttls), 465 (tls), 25 (none).
    pub port: Option<u16>,
    /// email: default `starttls`.
    pub security: Option<SmtpSecurity>,
    /// email: the SMTP login, with `password_file`.
    pub user: Option<String>,
    /// email: a file whose first line is the password (kept out of the config file).
    pub password_file: Option<PathBuf>,
    /// email: the sender, `Name <addr>` or `addr`.
    pub from: Option<String>,
    /// email: the recipients.
    #[serde(default)]
    pub to: Vec<String>,
}

fn all_events() -> Vec<NotifyEvent> {
    NotifyEvent::ALL.to_vec()
}
fn default_coalesce() -> u64 {
    60
}
fn default_timeout() -> u64 {
    10
}

impl NotifyConfig {
    /// The SMTP port: the configured one or the security's usual one.
    pub fn smtp_port(&self) -> u16 {
        self.port.unwrap_or(match self.smtp_security() {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        })
    }

    pub fn smtp_security(&self) -> SmtpSecurity {
        self.security.unwrap_or(SmtpSecurity::Starttls)
    }

    pub fn wants(&self, e: NotifyEvent) -> bool {
        self.events.contains(&e)
    }
}

/// What `[[notify]]` entries cannot be; the error names the entry and the key.
pub(super) fn validate(targets: &[NotifyConfig]) -> Result<(), ConfigError> {
    for (i, t) in targets.iter().enumerate() {
        let err = |key: &str, why: String| {
            Err(ConfigError::Notify(format!(
                "{:?} (entry {}) {key}: {why}",
                t.name,
                i + 1
            )))
        };
        let ok_name = !t.name.is_empty()
            && t.name.len() <= 32
            && t.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok_name {
            return err("name", "1 to 32 letters, digits, '-' or '_'".into());
        }
        if targets[..i].iter().any(|o| o.name == t.name) {
            return err("name", "used by two targets".into());
        }
        if t.events.is_empty() {
            return err(
                "events",
                "empty: leave it out for all four, or name some of burner, job_failed, disk, store"
                    .into(),
            );
        }
        if !(1..=3600).contains(&t.coalesce_secs) {
            return err(
                "coalesce_secs",
                format!("{}: allowed range is 1..=3600 seconds", t.coalesce_secs),
            );
        }
        if !(1..=300).contains(&t.timeout_secs) {
            return err(
                "timeout_secs",
                format!("{}: allowed range is 1..=300 seconds", t.timeout_secs),
            );
        }
        let webhook_keys = [
            ("url", t.url.is_some()),
            ("bearer_token_file", t.bearer_token_file.is_some()),
            ("headers", !t.headers.is_empty()),
        ];
        let email_keys = [
            ("host", t.host.is_some()),
            ("port", t.port.is_some()),
            ("security", t.security.is_some()),
            ("user", t.user.is_some()),
            ("password_file", t.password_file.is_some()),
            ("from", t.from.is_some()),
            ("to", !t.to.is_empty()),
        ];
        match t.kind {
            NotifyKind::Webhook => {
                if let Some((k, _)) = email_keys.iter().find(|(_, set)| *set) {
                    return err(k, "is a key of kind = \"email\", not of a webhook".into());
                }
                let Some(url) = &t.url else {
                    return err(
                        "url",
                        "missing: a webhook needs its http:// or https:// URL".into(),
                    );
                };
                let rest = url
                    .strip_prefix("http://")
                    .or_else(|| url.strip_prefix("https://"));
                if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
                    return err(
                        "url",
                        format!("{url:?}: an http:// or https:// URL with a host"),
                    );
                }
                for (k, v) in &t.headers {
                    let name_ok =
                        !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
                    let value_ok = v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
                    if !name_ok || !value_ok {
                        return err(
                            "headers",
                            format!("{k:?}: names of letters, digits and '-', printable values"),
                        );
                    }
                }
            }
            NotifyKind::Email => {
                if let Some((k, _)) = webhook_keys.iter().find(|(_, set)| *set) {
                    return err(k, "is a key of kind = \"webhook\", not of email".into());
                }
                if t.host.as_deref().is_none_or(str::is_empty) {
                    return err("host", "missing: the SMTP relay's host name".into());
                }
                match &t.from {
                    None => return err("from", "missing: the sender's address".into()),
                    Some(f) => {
                        if let Err(e) = f.parse::<lettre::message::Mailbox>() {
                            return err("from", format!("{f:?}: {e}"));
                        }
                    }
                }
                if t.to.is_empty() {
                    return err("to", "missing: at least one recipient".into());
                }
                for a in &t.to {
                    if let Err(e) = a.parse::<lettre::message::Mailbox>() {
                        return err("to", format!("{a:?}: {e}"));
                    }
                }
                if t.user.is_some() != t.password_file.is_some() {
                    return err(
                        if t.user.is_some() {
                            "password_file"
                        } else {
                            "user"
                        },
                        "user and password_file go together (an SMTP login needs both)".into(),
                    );
                }
            }
        }
    }
    Ok(())
}
