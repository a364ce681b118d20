//! Configuration values that have rules of their own: each type checks its rule once, when it is
//! made (from the TOML file, a command-line argument or an API call), so code holding one never
//! checks again. Numeric ranges that are plain bounds stay in [`super::Config::validate`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value that breaks its type's rule. Displays as `"VALUE" is not RULE`; the configuration
/// loader puts the key in front.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value} is not {rule}")]
pub struct InvalidValue {
    /// The value as written (strings quoted).
    pub value: String,
    /// What the value must be, with the allowed range or set.
    pub rule: &'static str,
}

impl InvalidValue {
    fn text(value: &str, rule: &'static str) -> Self {
        InvalidValue {
            value: format!("{value:?}"),
            rule,
        }
    }
}

/// Declares `TryFrom<String>`, `FromStr`, `Display`, `as_str` and `From<T> for String` for a
/// string newtype whose constructor is `fn check(&str) -> Result<String, InvalidValue>`.
macro_rules! string_value {
    ($t:ident) => {
        impl $t {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// A built-in default, not checked here: `defaults_are_valid` in the config tests
            /// checks every one, so a bad literal fails the build's tests, not a user's start.
            #[allow(dead_code)] // not every newtype has a built-in default
            pub(crate) fn builtin(s: &'static str) -> Self {
                $t(s.to_string())
            }
        }
        impl TryFrom<String> for $t {
            type Error = InvalidValue;
            fn try_from(s: String) -> Result<Self, InvalidValue> {
                Self::check(&s).map($t)
            }
        }
        impl FromStr for $t {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, InvalidValue> {
                Self::check(s).map($t)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
    };
}

/// An Application Entity title (PS3.5 Table 6.2-1, VR AE): 1-16 characters of the default
/// repertoire, no backslash or control character. Leading and trailing spaces are not
/// significant and are not kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AeTitle(String);

impl AeTitle {
    pub const RULE: &'static str = "an AE title (1-16 printable characters, no backslash)";

    fn check(s: &str) -> Result<String, InvalidValue> {
        let t = s.trim_matches(' ');
        if t.is_empty()
            || t.len() > 16
            || !t.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'\\')
        {
            return Err(InvalidValue::text(s, Self::RULE));
        }
        Ok(t.to_string())
    }
}
string_value!(AeTitle);

/// A UID (PS3.5 9.1): dot-separated numbers without leading zeros, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uid(String);

impl Uid {
    pub const RULE: &'static str = "a UID (digits and dots, at most 64 characters)";

    fn check(s: &str) -> Result<String, InvalidValue> {
        if dcmdisc_dicom::uid::is_valid(s) {
            Ok(s.to_string())
        } else {
            Err(InvalidValue::text(s, Self::RULE))
        }
    }
}
string_value!(Uid);

/// Implementation Version Name (0002,0013), VR SH: 1-16 printable characters, no space or
/// backslash (it is sent in A-ASSOCIATE-AC, where a space would be read as padding).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VersionName(String);

impl VersionName {
    pub const RULE: &'static str =
        "an implementation version name (1-16 printable characters, no space or backslash)";

    fn check(s: &str) -> Result<String, InvalidValue> {
        if s.is_empty()
            || s.len() > 16
            || !s.bytes().all(|b| (0x21..0x7f).contains(&b) && b != b'\\')
        {
            return Err(InvalidValue::text(s, Self::RULE));
        }
        Ok(s.to_string())
    }
}
string_value!(VersionName);

/// The File-set ID pattern: `{n}` = volume number, `{m}` = volume count. Expanded for up to
/// 999 volumes it must still be a File-set ID (PS3.10 8.2, VR CS: 1-16 characters of A-Z,
/// 0-9, _ and space).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FilesetIdPattern(String);

impl FilesetIdPattern {
    pub const RULE: &'static str = concat!(
        "a File-set ID pattern (expanded, up to 999 volumes, ",
        "it must be 1-16 characters of A-Z, 0-9, _ and space)"
    );

    fn check(s: &str) -> Result<String, InvalidValue> {
        let id = s.replace("{n}", "999").replace("{m}", "999");
        if id.is_empty()
            || id.len() > 16
            || !id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b' ')
        {
            return Err(InvalidValue::text(s, Self::RULE));
        }
        Ok(s.to_string())
    }
}
string_value!(FilesetIdPattern);

/// A line the volume's own files show (`[media] institution`, `contact`): up to 64
/// printable ASCII characters, empty for none. ASCII because README.TXT is 7-bit ASCII (IHE
/// PDI, DRG): a value it could not show as written is refused here rather than altered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DiscText(String);

impl DiscText {
    pub const RULE: &'static str =
        "a disc text (0-64 printable ASCII characters: README.TXT is 7-bit ASCII)";

    fn check(s: &str) -> Result<String, InvalidValue> {
        if s.len() > 64 || !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(InvalidValue::text(s, Self::RULE));
        }
        Ok(s.trim().to_string())
    }
}
string_value!(DiscText);
/// The ISO 9660 Volume Identifier pattern (the name Windows and macOS show for the drive).
/// Placeholders: `{date}` = the export's creation date, `YYYYMMDD` (UTC); `{job}` = `J` and
/// the job number for a disc job, `T` and the time `HHMMSS` (UTC) for `dcmdisc export`;
/// `{n}` = volume number, `{m}` = volume count. Everything else must be d-characters (A-Z,
/// 0-9, _), and the widest expansion (job numbers up to 10 digits, up to 999 volumes) at
/// most 32 of them (ECMA-119 8.4.6), so no export can make an invalid identifier. No patient
/// data can be put in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VolumeIdPattern(String);

impl VolumeIdPattern {
    pub const RULE: &'static str = concat!(
        "a Volume Identifier pattern (A-Z, 0-9, _ and the placeholders {date} {yymmdd} {job} ",
        "{n} {m}; ",
        "at most 32 characters once expanded, for job numbers of up to 10 digits and up to ",
        "999 volumes)"
    );
    /// The widest each placeholder expands to.
    const WIDEST: [(&'static str, &'static str); 5] = [
        ("{date}", "20261231"),
        ("{yymmdd}", "261231"),
        ("{job}", "J9999999999"),
        ("{n}", "999"),
        ("{m}", "999"),
    ];

    fn check(s: &str) -> Result<String, InvalidValue> {
        let widest = Self::WIDEST
            .iter()
            .fold(s.to_string(), |acc, (p, v)| acc.replace(p, v));
        if widest.is_empty()
            || widest.len() > 32
            || !widest
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(InvalidValue::text(s, Self::RULE));
        }
        Ok(s.to_string())
    }

    /// The pattern with `{date}` and `{job}` expanded (`{n}`, `{m}` are the media engine's).
    /// `job`: the disc job's number, or `None` for `dcmdisc export` (then the time).
    /// `None` when a job number is over 10 digits (the check's bound).
    pub fn expand(&self, now: std::time::SystemTime, job: Option<i64>) -> Option<String> {
        let secs = now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
        let t = secs % 86_400;
        let job = match job {
            Some(id) if (0..=9_999_999_999).contains(&id) => format!("J{id}"),
            Some(_) => return None,
            None => format!("T{:02}{:02}", t / 3600, t / 60 % 60),
        };
        Some(
            self.0
                .replace("{date}", &format!("{y:04}{mo:02}{d:02}"))
                .replace(
                    "{yymmdd}",
                    &format!("{:02}{mo:02}{d:02}", y.rem_euclid(100)),
                )
                .replace("{job}", &job),
        )
    }
}
string_value!(VolumeIdPattern);

/// (year, month, day) of a count of days since 1970-01-01 (H. Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Declares a closed set of names as an enum: parsing (case-insensitive, with aliases), its
/// canonical name, serde through the name, and an error listing the allowed names.
macro_rules! name_enum {
    (
        $(#[$m:meta])* $t:ident, $rule:literal,
        { $($(#[$vm:meta])* $v:ident = $name:literal $(| $alias:literal)*),+ $(,)? }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $t {
            $($(#[$vm])* $v),+
        }

        impl $t {
            /// Every value, in the order of the allowed-values list.
            pub const ALL: &'static [$t] = &[$($t::$v),+];
            pub const RULE: &'static str = $rule;

            /// The name as written in the configuration.
            pub fn name(self) -> &'static str {
                match self {
                    $($t::$v => $name),+
                }
            }
        }

        impl FromStr for $t {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, InvalidValue> {
                $(
                    if s.eq_ignore_ascii_case($name) $(|| s.eq_ignore_ascii_case($alias))* {
                        return Ok($t::$v);
                    }
                )+
                Err(InvalidValue::text(s, $rule))
            }
        }

        impl TryFrom<String> for $t {
            type Error = InvalidValue;
            fn try_from(s: String) -> Result<Self, InvalidValue> {
                s.parse()
            }
        }

        impl From<$t> for &'static str {
            fn from(v: $t) -> &'static str {
                v.name()
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

name_enum!(
    /// The media application profile (PS3.11) a volume is built for.
    Profile,
    "one of STD-GEN-CD, STD-GEN-DVD-JPEG, STD-GEN-BD, STD-GEN-USB-JPEG",
    {
        /// CD-R, Explicit VR Little Endian only (PS3.11 Annex D).
        StdGenCd = "STD-GEN-CD",
        /// DVD, JPEG allowed (PS3.11 Annex H).
        StdGenDvdJpeg = "STD-GEN-DVD-JPEG",
        /// Blu-ray, JPEG allowed.
        StdGenBd = "STD-GEN-BD" | "STD-GEN-BD-JPEG",
        /// USB and flash media: a folder tree, no image.
        StdGenUsbJpeg = "STD-GEN-USB-JPEG",
    }
);

impl Profile {
    /// The media engine's view of the profile.
    pub fn media(self) -> dcmdisc_media::export::Profile {
        use dcmdisc_media::export::Profile as M;
        match self {
            Profile::StdGenCd => M::GenCd,
            Profile::StdGenDvdJpeg => M::GenDvdJpeg,
            Profile::StdGenBd => M::GenBd,
            Profile::StdGenUsbJpeg => M::GenUsbJpeg,
        }
    }
}

name_enum!(
    /// `[storage_provider] destination_transfer_syntax`: what a received instance is stored as.
    DestinationSyntax,
    "one of as-received, explicit-le, implicit-le",
    {
        /// Bit-preserving: stored exactly as received.
        AsReceived = "as-received",
        /// Converted to Explicit VR Little Endian before the success response.
        ExplicitLe = "explicit-le",
        /// Converted to Implicit VR Little Endian before the success response.
        ImplicitLe = "implicit-le",
    }
);

impl DestinationSyntax {
    /// The conversion target, `None` for as-received.
    pub fn target(self) -> Option<ConvertTarget> {
        match self {
            DestinationSyntax::AsReceived => None,
            DestinationSyntax::ExplicitLe => Some(ConvertTarget::ExplicitLe),
            DestinationSyntax::ImplicitLe => Some(ConvertTarget::ImplicitLe),
        }
    }
}

name_enum!(
    /// The transfer syntax a file is converted to.
    ConvertTarget,
    "one of explicit-le, implicit-le",
    {
        /// Explicit VR Little Endian, 1.2.840.10008.1.2.1.
        ExplicitLe = "explicit-le",
        /// Implicit VR Little Endian, 1.2.840.10008.1.2.
        ImplicitLe = "implicit-le",
    }
);

impl ConvertTarget {
    pub fn transcode(self) -> dcmdisc_transcode::Target {
        match self {
            ConvertTarget::ExplicitLe => dcmdisc_transcode::Target::ExplicitLe,
            ConvertTarget::ImplicitLe => dcmdisc_transcode::Target::ImplicitLe,
        }
    }
}

/// `[media] cd_capacity_mb`: the CD-R size a STD-GEN-CD volume is planned for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub enum CdCapacity {
    /// 74-minute CD-R.
    Mb650,
    /// 80-minute CD-R (the media engine's STD-GEN-CD default).
    Mb700,
}

impl CdCapacity {
    pub const RULE: &'static str = "one of 650, 700";

    pub fn megabytes(self) -> u32 {
        match self {
            CdCapacity::Mb650 => 650,
            CdCapacity::Mb700 => 700,
        }
    }
}

impl TryFrom<u32> for CdCapacity {
    type Error = InvalidValue;
    fn try_from(mb: u32) -> Result<Self, InvalidValue> {
        match mb {
            650 => Ok(CdCapacity::Mb650),
            700 => Ok(CdCapacity::Mb700),
            _ => Err(InvalidValue {
                value: mb.to_string(),
                rule: Self::RULE,
            }),
        }
    }
}

impl From<CdCapacity> for u32 {
    fn from(c: CdCapacity) -> u32 {
        c.megabytes()
    }
}

/// A remote AE's host: an IP address, a host name, or `any`. Only emptiness is checked here;
/// what it names is decided when an association comes in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RemoteHost(String);

impl RemoteHost {
    pub const RULE: &'static str = "a host (an IP address, a host name, or `any`)";

    fn check(s: &str) -> Result<String, InvalidValue> {
        let t = s.trim();
        if t.is_empty() {
            return Err(InvalidValue::text(s, Self::RULE));
        }
        Ok(t.to_string())
    }
}
string_value!(RemoteHost);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ae_titles() {
        assert_eq!(AeTitle::from_str(" CT_1 ").unwrap().as_str(), "CT_1");
        assert_eq!(AeTitle::from_str("A B").unwrap().as_str(), "A B");
        for bad in ["", "   ", "SEVENTEEN_CHARS_X", "A\\B", "TAB\tX", "ÄRZTE"] {
            let e = AeTitle::from_str(bad).unwrap_err().to_string();
            assert!(e.contains("is not an AE title (1-16"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn uids() {
        assert!(Uid::from_str("2.25.1").is_ok() && Uid::from_str("1.0.3").is_ok());
        for bad in ["", "1..2", "1.02", "1.2.", "1.a", &"1.".repeat(33)] {
            assert!(Uid::from_str(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn closed_sets_parse_case_insensitively_and_list_the_allowed_names() {
        assert_eq!(Profile::from_str("std-gen-cd"), Ok(Profile::StdGenCd));
        assert_eq!(Profile::from_str("STD-GEN-BD-JPEG"), Ok(Profile::StdGenBd));
        let e = Profile::from_str("STD-GEN-FLOPPY").unwrap_err().to_string();
        assert_eq!(
            e,
            "\"STD-GEN-FLOPPY\" is not one of \
             STD-GEN-CD, STD-GEN-DVD-JPEG, STD-GEN-BD, STD-GEN-USB-JPEG"
        );
        for p in Profile::ALL {
            assert_eq!(Profile::from_str(p.name()), Ok(*p));
        }
        assert!(ConvertTarget::from_str("jpeg")
            .unwrap_err()
            .to_string()
            .contains("explicit-le, implicit-le"));
        assert_eq!(CdCapacity::try_from(650), Ok(CdCapacity::Mb650));
        assert!(CdCapacity::try_from(600).is_err());
        assert!(RemoteHost::from_str(" ").is_err());
        assert_eq!(RemoteHost::from_str(" any ").unwrap().as_str(), "any");
    }
}
