//! The control database for the operator commands (the service may be running meanwhile):
//! opening it without creating one by mistake, the listings, and the remote AE table.

use std::path::{Path, PathBuf};

use dcmdisc_archive::{Collection, Control, InstanceRow, LogEntry, LogQuery, LogStatus, RemoteAe};

use crate::config::{AeTitle, Config, RemoteHost};
use crate::error::AppError;

/// Whether opening may create the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Only an existing database; [`AppError::NoDatabase`] otherwise, and nothing is created.
    Existing,
    /// Create the data folder and the database when missing (see [`ControlDb::created`]).
    CreateIfMissing,
}

/// An open control database and where it is.
pub struct ControlDb {
    control: Control,
    path: PathBuf,
    created: bool,
}

impl ControlDb {
    /// Opens the database of `cfg`'s data folder.
    pub fn open(cfg: &Config, mode: Open) -> Result<ControlDb, AppError> {
        let path = cfg.control_database_path();
        let existed = path.try_exists().unwrap_or(true);
        if !existed && mode == Open::Existing {
            return Err(AppError::NoDatabase { path });
        }
        let data_dir = &cfg.archive.data_dir;
        let control = Control::open(data_dir).map_err(|source| AppError::OpenControl {
            data_dir: data_dir.clone(),
            source,
        })?;
        Ok(ControlDb {
            control,
            path,
            created: !existed,
        })
    }

    /// The database file (absolute).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `Some(path)` when this open created the database: callers tell the operator, so a
    /// wrong folder is noticed at once.
    pub fn created(&self) -> Option<&Path> {
        self.created.then_some(self.path.as_path())
    }

    /// The archive's handle, for what this layer does not wrap.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Patient collections.
    pub fn patients(&self) -> Result<Vec<Collection>, AppError> {
        Ok(self.control.collections()?)
    }

    /// Stored instances (absolute paths), of one collection or all.
    pub fn instances(&self, collection: Option<i64>) -> Result<Vec<InstanceRow>, AppError> {
        Ok(self.control.instances(collection)?)
    }

    /// The extended store log, newest last, at most `limit` entries.
    pub fn log(&self, limit: u32) -> Result<Vec<LogEntry>, AppError> {
        Ok(self.control.log(limit)?)
    }

    /// The store log filtered: the newest `q.limit` entries matching, oldest first.
    pub fn query_log(&self, q: &LogQuery) -> Result<Vec<LogEntry>, AppError> {
        Ok(self.control.query_log(q)?)
    }

    pub fn remotes(&self) -> Result<Vec<RemoteAe>, AppError> {
        Ok(self.control.remotes()?)
    }

    /// Allows `ae` to connect from `host`; replaces an earlier entry of the same AE title.
    /// A running service sees the change at its next association.
    pub fn add_remote(
        &self,
        ae: &AeTitle,
        host: &RemoteHost,
        port: Option<u16>,
    ) -> Result<(), AppError> {
        Ok(self.control.add_remote(ae.as_str(), host.as_str(), port)?)
    }

    pub fn remove_remote(&self, ae: &AeTitle) -> Result<(), AppError> {
        if self.control.remove_remote(ae.as_str())? {
            Ok(())
        } else {
            Err(AppError::NoSuchRemote(ae.clone()))
        }
    }
}

/// A store log status filter as an operator writes it: `success`, `failure`, or a status code
/// in hex (`A700`).
pub fn parse_log_status(s: &str) -> Result<LogStatus, AppError> {
    let bad = || AppError::BadFilter {
        name: "status",
        value: s.to_string(),
        allowed: "success, failure, or a status code in hex such as A700",
    };
    match s {
        "success" => Ok(LogStatus::Success),
        "failure" => Ok(LogStatus::Failure),
        _ if s.len() == 4 && s.bytes().all(|c| c.is_ascii_hexdigit()) => u16::from_str_radix(s, 16)
            .map(LogStatus::Code)
            .map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// A store log time filter: a UTC date or date and time as the log writes them
/// (`2026-12-01`, `2026-12-01T10:30`, `2026-12-01T10:30:00`, `2026-12-01T10:30:00.250`,
/// each with or without a final `Z`); answers it without the `Z`, which compares with the
/// log's times as text.
pub fn parse_log_since(s: &str) -> Result<String, AppError> {
    const FORM: &[u8] = b"0000-00-00T00:00:00.000";
    let t = s.strip_suffix('Z').unwrap_or(s);
    let fits = [10, 16, 19, 23].contains(&t.len())
        && t.bytes().zip(FORM).all(|(c, f)| match f {
            b'0' => c.is_ascii_digit(),
            _ => c == *f,
        });
    if fits {
        Ok(t.to_string())
    } else {
        Err(AppError::BadFilter {
            name: "since",
            value: s.to_string(),
            allowed: "a UTC date or time: 2026-12-01, 2026-12-01T10:30 or 2026-12-01T10:30:00Z",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    fn config(data_dir: &Path) -> Config {
        let mut c = Config::default();
        c.archive.data_dir = data_dir.to_path_buf();
        c
    }

    #[test]
    fn a_listing_finds_no_database_and_creates_nothing() {
        let tmp = TempDir::new("control");
        let data = tmp.path().join("data");
        let cfg = config(&data);
        match ControlDb::open(&cfg, Open::Existing) {
            Err(AppError::NoDatabase { path }) => {
                assert_eq!(path, data.join("control.sqlite"));
                assert!(AppError::NoDatabase { path }
                    .to_string()
                    .contains(&data.join("control.sqlite").display().to_string()));
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
        assert!(!data.exists());

        let db = ControlDb::open(&cfg, Open::CreateIfMissing).unwrap();
        assert_eq!(db.created(), Some(data.join("control.sqlite").as_path()));
        let ae: AeTitle = "NEWCOMER".parse().unwrap();
        db.add_remote(&ae, &"127.0.0.1".parse().unwrap(), Some(104))
            .unwrap();
        drop(db);
        let db = ControlDb::open(&cfg, Open::Existing).unwrap();
        assert_eq!(db.created(), None);
        let remotes = db.remotes().unwrap();
        assert_eq!(remotes.len(), 1);
        assert_eq!(remotes[0].ae_title, "NEWCOMER");
        assert!(db.patients().unwrap().is_empty());
        db.remove_remote(&ae).unwrap();
        assert!(matches!(
            db.remove_remote(&ae),
            Err(AppError::NoSuchRemote(_))
        ));
    }
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    #[test]
    fn log_filters_are_parsed_or_refused_naming_the_filter() {
        assert_eq!(parse_log_status("success").unwrap(), LogStatus::Success);
        assert_eq!(parse_log_status("failure").unwrap(), LogStatus::Failure);
        assert_eq!(parse_log_status("A700").unwrap(), LogStatus::Code(0xA700));
        assert_eq!(parse_log_status("0000").unwrap(), LogStatus::Code(0));
        for bad in ["", "ok", "A7000", "ZZZZ", "+A70"] {
            let e = parse_log_status(bad).unwrap_err().to_string();
            assert!(e.starts_with("status = "), "{e}");
        }
        for (given, kept) in [
            ("2026-12-01", "2026-12-01"),
            ("2026-12-01T10:30", "2026-12-01T10:30"),
            ("2026-12-01T10:30:00Z", "2026-12-01T10:30:00"),
            ("2026-12-01T10:30:00.250Z", "2026-12-01T10:30:00.250"),
        ] {
            assert_eq!(parse_log_since(given).unwrap(), kept);
        }
        for bad in [
            "yesterday",
            "2026-12-1",
            "2026-12-01T10",
            "2026-12-01 10:30",
            "2026-12-01T10:30:00+01:00",
        ] {
            let e = parse_log_since(bad).unwrap_err().to_string();
            assert!(e.starts_with("since = "), "{e}");
        }
    }
}
