//! The dashboard's "today" and "disk and retention" panels: what arrived since midnight UTC,
//! the data folder's disk, and what a retention pass would do now (a dry run of the same
//! `app::retention::pass` the sweeper runs, so the page cannot tell another story).

use dcmdisc_app::retention::{Action, Report};
use dcmdisc_app::Received;

use super::rows::{size, Alert};

pub(crate) struct Today {
    /// Midnight UTC, as shown ("2026-12-02").
    pub date: String,
    pub instances: u64,
    pub size: String,
    pub failures: u64,
}

impl Today {
    pub(crate) fn new(date: &str, r: Received) -> Today {
        Today {
            date: date.to_string(),
            instances: r.instances,
            size: size(r.bytes),
            failures: r.failures,
        }
    }
}

/// One collection a pass would remove now.
pub(crate) struct Removal {
    pub collection: i64,
    pub patient: String,
    pub size: String,
    pub reason: String,
}

pub(crate) struct Retention {
    /// "keep forever" or "keep 168 h after the last verified disc".
    pub policy: String,
    pub high_water: u64,
    /// "12.3 GB free of 100.0 GB (87.7 % used)", or why it is unknown.
    pub disk: String,
    pub above: bool,
    pub remove: Vec<Removal>,
    pub remove_size: String,
    pub kept: usize,
    pub alert: Option<String>,
}

impl Retention {
    pub(crate) fn new(r: &Report) -> Retention {
        let remove: Vec<Removal> = r
            .decisions
            .iter()
            .filter(|d| d.action == Action::Remove)
            .map(|d| Removal {
                collection: d.collection,
                patient: d.patient_name.clone(),
                size: size(d.bytes),
                reason: d.reason.clone(),
            })
            .collect();
        let remove_bytes = r
            .decisions
            .iter()
            .filter(|d| d.action == Action::Remove)
            .map(|d| d.bytes)
            .sum();
        Retention {
            policy: if r.keep_forever {
                "keep forever".into()
            } else {
                format!("keep {} h after the last verified disc", r.keep_hours)
            },
            high_water: r.high_water_percent,
            disk: match (r.disk, r.disk_percent) {
                (Some(d), Some(p)) => format!(
                    "{} free of {} ({p:.1} % used)",
                    size(d.total.saturating_sub(d.used)),
                    size(d.total)
                ),
                _ => "unknown (the data folder's file system could not be measured)".into(),
            },
            above: r.above_high_water,
            kept: r.decisions.len() - remove.len(),
            remove,
            remove_size: size(remove_bytes),
            alert: r.alert.clone(),
        }
    }

    /// The disk at the high-water mark with nothing retention may remove: the operator acts.
    pub(crate) fn alerts(&self) -> Vec<Alert> {
        let mut out = Vec::new();
        if let Some(a) = &self.alert {
            out.push(Alert {
                what: format!("Disk of the data folder: {a}"),
                action: "burn and verify the waiting collections, unpin or remove some, or give the data folder more space"
                    .into(),
                link: "/patients".into(),
                button: None,
            });
        } else if self.above {
            out.push(Alert {
                what: format!(
                    "Disk of the data folder above the high-water mark ({} %): {}",
                    self.high_water, self.disk
                ),
                action: "nothing yet: retention removes what it may at its next pass".into(),
                link: "/".into(),
                button: None,
            });
        }
        out
    }
}
