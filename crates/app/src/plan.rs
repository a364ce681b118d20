//! The media plan of a disc job before it is queued ("2 × CD-R, 1.2 GB"): the media
//! engine's volume planner run over the archive index's sizes, writing nothing. The web
//! page's "Make disc" shows it first; `GET /api/patients/{id}/plan` answers it.
//!
//! An estimate, and said to be one: the real plan is made when the job composes, from the
//! instances as they are then (a late arrival adds to them) and after any conversion (a
//! JPEG profile compresses, so the estimate from the stored sizes errs on the large side).

use serde::Serialize;

use dcmdisc_media::export::{ExportError, SECTOR};
use dcmdisc_media::plan::{self, PlanItem};

use crate::config::{Config, Profile};
use crate::control::ControlDb;
use crate::error::AppError;

/// A DICOMDIR leaf record's bytes, a generous guess (the real one is built from the
/// instance's keys while composing).
const LEAF_RECORD: u64 = 512;
/// Fixed bytes of each volume: the ISO descriptors and root, the DICOMDIR header, the PDI
/// files (README, INDEX, AUTORUN, MANIFEST, the report), rounded up generously.
const PER_VOLUME: u64 = 64 * SECTOR + 2 * 1024 * 1024;
/// A study's or series' records, folder and INDEX block.
const PER_GROUP: u64 = 8 * SECTOR;

/// What a job of a collection would make.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MediaPlan {
    pub collection: i64,
    pub profile: String,
    /// The medium in plain words: `CD-R`, `DVD`, `BD`, `USB`.
    pub medium: &'static str,
    pub copies: u32,
    /// Volumes per copy.
    pub volumes: u32,
    /// Discs in all: volumes × copies.
    pub discs: u32,
    /// The content of one copy, in bytes (all its volumes).
    pub bytes: u64,
    /// One volume's capacity in bytes (`None`: no limit, USB).
    pub capacity: Option<u64>,
    pub instances: u64,
}

fn medium(p: Profile) -> &'static str {
    match p {
        Profile::StdGenCd => "CD-R",
        Profile::StdGenDvdJpeg => "DVD",
        Profile::StdGenBd => "BD",
        Profile::StdGenUsbJpeg => "USB",
    }
}

/// Plans collection `collection` for `profile` (default `[media] profile`), `capacity_mb`
/// (default the profile's) and `copies`, from the index's sizes.
pub fn estimate(
    cfg: &Config,
    db: &ControlDb,
    collection: i64,
    profile: Option<Profile>,
    capacity_mb: Option<u64>,
    copies: u32,
) -> Result<MediaPlan, AppError> {
    if !(1..=99).contains(&copies) {
        return Err(AppError::Copies);
    }
    let profile = profile.unwrap_or(cfg.media.profile);
    let own = profile.media().capacity();
    let capacity = crate::export::capacity(cfg, profile, capacity_mb)?.unwrap_or(own);
    // `instances` is in study/series/instance order: the order the planner wants.
    let rows = db.instances(Some(collection))?;
    if rows.is_empty() {
        return Err(AppError::NoSuchCollection(collection));
    }
    let items: Vec<PlanItem> = rows
        .iter()
        .map(|r| PlanItem {
            study: r.study_instance_uid.clone(),
            series: r.series_instance_uid.clone(),
            cost: plan::item_cost(r.size, LEAF_RECORD),
        })
        .collect();
    let volumes =
        plan::plan(&items, capacity, PER_VOLUME, PER_GROUP).map_err(|e| AppError::Export {
            label: format!("planning collection {collection}"),
            source: ExportError::Plan(e),
        })?;
    let volumes = volumes.len() as u32;
    let bytes = items.iter().map(|i| i.cost).sum::<u64>() + PER_VOLUME * u64::from(volumes);
    Ok(MediaPlan {
        collection,
        profile: profile.name().to_string(),
        medium: medium(profile),
        copies,
        volumes,
        discs: volumes * copies,
        bytes,
        capacity: (profile != Profile::StdGenUsbJpeg || capacity_mb.is_some()).then_some(capacity),
        instances: rows.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil;

    #[test]
    fn one_volume_per_copy_and_refusals_with_a_reason() {
        let tmp = testutil::TempDir::new("plan-estimate");
        let (cfg, db) = testutil::two_collections(&tmp, 6);
        let one = estimate(&cfg, &db, 1, None, None, 2).unwrap();
        assert_eq!((one.volumes, one.discs, one.medium), (1, 2, "CD-R"));
        assert_eq!((one.instances, one.profile.as_str()), (6, "STD-GEN-CD"));
        assert_eq!(one.capacity, Some(360_000 * SECTOR));
        assert!(one.bytes > PER_VOLUME, "{one:?}");
        // A 2 MiB volume has no room after its fixed content: the planner says why.
        let e = estimate(&cfg, &db, 1, None, Some(2), 1).unwrap_err();
        assert!(matches!(e, AppError::Export { .. }), "{e:?}");
        assert!(matches!(
            estimate(&cfg, &db, 9, None, None, 1),
            Err(AppError::NoSuchCollection(9))
        ));
        assert!(matches!(
            estimate(&cfg, &db, 1, None, None, 0),
            Err(AppError::Copies)
        ));
        let usb = estimate(&cfg, &db, 2, Some(Profile::StdGenUsbJpeg), None, 1).unwrap();
        assert_eq!((usb.medium, usb.capacity), ("USB", None));
    }
}
