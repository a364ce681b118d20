//! The PS3.11 General Purpose media profiles a volume is written for.

use dcmdisc_dicom::uid::{
    EXPLICIT_VR_LE, JPEG_BASELINE, JPEG_EXTENDED, JPEG_LOSSLESS, JPEG_LOSSLESS_SV1,
};

/// ISO 9660 logical sector size (the unit of every capacity here).
pub const SECTOR: u64 = dcmdisc_iso9660::SECTOR_SIZE as u64;
/// Sectors of an 80-minute ("700 MB") CD-R: the STD-GEN-CD default.
pub const CD_700_MB_SECTORS: u64 = 360_000;
/// Sectors of a 74-minute ("650 MB") CD-R (`[media] cd_capacity_mb = 650`).
pub const CD_650_MB_SECTORS: u64 = 333_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    GenCd,
    GenDvdJpeg,
    GenBd,
    GenUsbJpeg,
}

impl Profile {
    /// The profile's name in PS3.11 and in `data/dicomdir-records.tsv` (the configuration's
    /// names and aliases are parsed by the application layer).
    pub fn name(self) -> &'static str {
        match self {
            Profile::GenCd => "STD-GEN-CD",
            Profile::GenDvdJpeg => "STD-GEN-DVD-JPEG",
            Profile::GenBd => "STD-GEN-BD-JPEG",
            Profile::GenUsbJpeg => "STD-GEN-USB-JPEG",
        }
    }

    /// Default capacity in bytes: 80-minute CD-R (360,000 sectors), single-layer DVD,
    /// single-layer BD; USB has no volume limit of its own.
    pub fn capacity(self) -> u64 {
        match self {
            Profile::GenCd => CD_700_MB_SECTORS * SECTOR,
            Profile::GenDvdJpeg => 2_295_104 * SECTOR,
            Profile::GenBd => 12_219_392 * SECTOR,
            Profile::GenUsbJpeg => u64::MAX / 4,
        }
    }

    pub fn makes_iso(self) -> bool {
        self != Profile::GenUsbJpeg
    }

    /// Transfer syntaxes the profile allows on the medium (PS3.11 D and H).
    pub fn allows(self, ts: &str) -> bool {
        match self {
            Profile::GenCd => ts == EXPLICIT_VR_LE,
            _ => matches!(
                ts,
                EXPLICIT_VR_LE | JPEG_BASELINE | JPEG_EXTENDED | JPEG_LOSSLESS | JPEG_LOSSLESS_SV1
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcmdisc_dicom::uid::IMPLICIT_VR_LE;

    #[test]
    fn profiles() {
        assert!(Profile::GenCd.allows(EXPLICIT_VR_LE));
        assert!(!Profile::GenCd.allows(IMPLICIT_VR_LE));
        assert!(Profile::GenDvdJpeg.allows(JPEG_BASELINE));
        assert_eq!(Profile::GenBd.name(), "STD-GEN-BD-JPEG");
    }
}
