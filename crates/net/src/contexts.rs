//! The accepted presentation contexts (conformance statement Tables 12 and 13) and the
//! negotiation of one proposed context against them.

use std::collections::HashMap;

use dicom_ul::pdu::{
    PresentationContextProposed, PresentationContextResult, PresentationContextResultReason,
};

/// The table itself lives in a data file so that tests read exactly what the server uses.
const TABLE: &str = include_str!("../data/presentation-contexts.tsv");
/// The contexts of the services beyond Verification and Storage (Storage Commitment, ...),
/// in the same layout.
const SERVICE_TABLE: &str = include_str!("../data/service-contexts.tsv");

pub use dcmdisc_dicom::uid::{
    EXPLICIT_VR_LE, IMPLICIT_VR_LE, JPEG_BASELINE, JPEG_EXTENDED, JPEG_LOSSLESS_SV1,
    MEDIA_CREATION_MANAGEMENT, RLE_LOSSLESS, STORAGE_COMMITMENT_PUSH_MODEL, VERIFICATION,
};

/// Our default choice when a context proposes several acceptable transfer syntaxes:
/// uncompressed first (cheapest to index and put on STD-GEN-CD media), then lossless, then lossy.
pub const DEFAULT_PREFERENCE: [&str; 6] = [
    EXPLICIT_VR_LE,
    IMPLICIT_VR_LE,
    JPEG_LOSSLESS_SV1,
    RLE_LOSSLESS,
    JPEG_BASELINE,
    JPEG_EXTENDED,
];

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("presentation context table line {line}: {reason}")]
    Malformed { line: usize, reason: &'static str },
    #[error("transfer syntax preference names {0}, which no SOP class accepts")]
    UnknownPreference(String),
}

#[derive(Debug, Clone)]
pub struct ContextTable {
    accepted: HashMap<String, Vec<String>>,
    names: HashMap<String, String>,
    /// The abstract syntaxes of `service-contexts.tsv`: not storage classes.
    services: Vec<String>,
    preference: Vec<String>,
}

/// Strip what peers pad UIDs with (NUL, spaces) before comparing.
pub fn clean_uid(s: &str) -> &str {
    s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
}

/// The rows of one table file: (UID, name, accepted transfer syntaxes).
type Row = (String, String, Vec<String>);

fn parse(file: &str) -> Result<Vec<Row>, TableError> {
    let mut rows = Vec::new();
    for (i, line) in file.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut cols = line.split('\t');
        let (Some(uid), Some(name), Some(ts)) = (cols.next(), cols.next(), cols.next()) else {
            return Err(TableError::Malformed {
                line: i + 1,
                reason: "expected three tab-separated columns",
            });
        };
        let ts: Vec<String> = ts.split(',').map(str::to_owned).collect();
        if ts.iter().any(|t| t.is_empty()) {
            return Err(TableError::Malformed {
                line: i + 1,
                reason: "empty transfer syntax",
            });
        }
        rows.push((uid.to_owned(), name.to_owned(), ts));
    }
    Ok(rows)
}

impl ContextTable {
    /// The statement's table with our default transfer syntax preference.
    pub fn standard() -> Result<Self, TableError> {
        let mut accepted = HashMap::new();
        let mut names = HashMap::new();
        let mut services = Vec::new();
        for (file, is_service) in [(TABLE, false), (SERVICE_TABLE, true)] {
            for (uid, name, ts) in parse(file)? {
                if is_service {
                    services.push(uid.clone());
                }
                accepted.insert(uid.clone(), ts);
                names.insert(uid, name);
            }
        }
        Ok(ContextTable {
            accepted,
            names,
            services,
            preference: DEFAULT_PREFERENCE.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// Replace the preference order. Syntaxes left out keep their default relative order after
    /// the listed ones, so a partial list never makes an acceptable context unacceptable.
    pub fn with_preference(mut self, preference: &[String]) -> Result<Self, TableError> {
        for p in preference {
            if !DEFAULT_PREFERENCE.contains(&p.as_str()) {
                return Err(TableError::UnknownPreference(p.clone()));
            }
        }
        let mut order: Vec<String> = preference.to_vec();
        for d in DEFAULT_PREFERENCE {
            if !order.iter().any(|o| o == d) {
                order.push(d.to_string());
            }
        }
        self.preference = order;
        Ok(self)
    }

    pub fn abstract_syntaxes(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.accepted
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    pub fn name(&self, abstract_syntax: &str) -> Option<&str> {
        self.names.get(abstract_syntax).map(String::as_str)
    }

    pub fn is_storage(&self, abstract_syntax: &str) -> bool {
        abstract_syntax != VERIFICATION
            && !self.is_service(abstract_syntax)
            && self.accepted.contains_key(abstract_syntax)
    }

    /// One of the services beyond Verification and Storage (Storage Commitment, ...).
    pub fn is_service(&self, abstract_syntax: &str) -> bool {
        self.services.iter().any(|s| s == abstract_syntax)
    }

    /// Answer one proposed context. Each proposal is answered on its own, so duplicates get
    /// their own (identical) answers.
    pub fn negotiate(&self, pc: &PresentationContextProposed) -> PresentationContextResult {
        let abstract_syntax = clean_uid(&pc.abstract_syntax);
        // The transfer syntax field of a rejected context is ignored by the peer, but some
        // peers choke on an empty one, so echo the first proposal.
        let first = pc
            .transfer_syntaxes
            .first()
            .map(|t| clean_uid(t).to_string())
            .unwrap_or_else(|| EXPLICIT_VR_LE.to_string());
        let Some(accepted) = self.accepted.get(abstract_syntax) else {
            return PresentationContextResult {
                id: pc.id,
                reason: PresentationContextResultReason::AbstractSyntaxNotSupported,
                transfer_syntax: first,
            };
        };
        let chosen = self
            .preference
            .iter()
            .filter(|p| accepted.contains(p))
            .find(|p| {
                pc.transfer_syntaxes
                    .iter()
                    .any(|t| clean_uid(t) == p.as_str())
            });
        match chosen {
            Some(ts) => PresentationContextResult {
                id: pc.id,
                reason: PresentationContextResultReason::Acceptance,
                transfer_syntax: ts.clone(),
            },
            None => PresentationContextResult {
                id: pc.id,
                reason: PresentationContextResultReason::TransferSyntaxesNotSupported,
                transfer_syntax: first,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pc(id: u8, a: &str, ts: &[&str]) -> PresentationContextProposed {
        PresentationContextProposed {
            id,
            abstract_syntax: a.into(),
            transfer_syntaxes: ts.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn table_has_the_statement_counts() {
        let t = ContextTable::standard().unwrap();
        let mut six = 0;
        let mut four = 0;
        let mut two = 0;
        for (uid, ts) in t.abstract_syntaxes() {
            if uid == VERIFICATION || t.is_service(uid) {
                continue;
            }
            match ts.len() {
                6 => six += 1,
                4 => four += 1,
                2 => two += 1,
                n => panic!("{uid} has {n} syntaxes"),
            }
        }
        assert_eq!((six, four, two), (37, 1, 30));
        assert!(t.is_service(STORAGE_COMMITMENT_PUSH_MODEL));
        assert!(!t.is_storage(STORAGE_COMMITMENT_PUSH_MODEL));
        assert_eq!(
            t.abstract_syntaxes()
                .find(|(a, _)| *a == STORAGE_COMMITMENT_PUSH_MODEL)
                .map(|(_, ts)| ts.to_vec()),
            Some(vec![EXPLICIT_VR_LE.to_string(), IMPLICIT_VR_LE.to_string()])
        );
    }

    #[test]
    fn preference_and_refusals() {
        let t = ContextTable::standard().unwrap();
        let ct = "1.2.840.10008.5.1.4.1.1.2";
        let r = t.negotiate(&pc(1, ct, &[JPEG_BASELINE, IMPLICIT_VR_LE, EXPLICIT_VR_LE]));
        assert_eq!(r.transfer_syntax, EXPLICIT_VR_LE);
        let r = t.negotiate(&pc(3, "1.2.840.10008.5.1.4.1.1.128", &[JPEG_BASELINE]));
        assert_eq!(
            r.reason,
            PresentationContextResultReason::TransferSyntaxesNotSupported
        );
        let r = t.negotiate(&pc(5, "1.2.3.4", &[EXPLICIT_VR_LE]));
        assert_eq!(
            r.reason,
            PresentationContextResultReason::AbstractSyntaxNotSupported
        );
        let r = t.negotiate(&pc(
            7,
            "1.2.840.10008.5.1.4.1.1.2\0",
            &["1.2.840.10008.1.2\0"],
        ));
        assert_eq!(r.transfer_syntax, IMPLICIT_VR_LE);
        let t = t.with_preference(&[JPEG_LOSSLESS_SV1.to_string()]).unwrap();
        let r = t.negotiate(&pc(9, ct, &[EXPLICIT_VR_LE, JPEG_LOSSLESS_SV1]));
        assert_eq!(r.transfer_syntax, JPEG_LOSSLESS_SV1);
    }
}
