//! Dates as ECMA-119 records them: the 7-byte form of directory records (9.1.5) and the
//! 17-byte text form of the volume descriptor (8.4.26.1), both in UTC.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{IsoError, Result};

/// A UTC date and time, recorded with offset 0 in every date field of the image.
///
/// The range is 1900..=2155 because directory records store the year as `year - 1900` in one
/// byte (ECMA-119 9.1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoDateTime {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl IsoDateTime {
    /// A UTC calendar date and time; rejects impossible dates and years outside 1900..=2155.
    pub fn new(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Result<Self> {
        if !(1900..=2155).contains(&year) {
            return Err(IsoError::BadTimestamp(format!(
                "year {year} outside 1900..=2155"
            )));
        }
        if !(1..=12).contains(&month) {
            return Err(IsoError::BadTimestamp(format!("month {month}")));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(IsoError::BadTimestamp(format!(
                "day {day} of {year}-{month:02}"
            )));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(IsoError::BadTimestamp(format!(
                "time {hour:02}:{minute:02}:{second:02}"
            )));
        }
        Ok(Self {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    /// From seconds since 1970-01-01T00:00:00Z (leap seconds are not counted, as in Unix time).
    pub fn from_unix_seconds(secs: i64) -> Result<Self> {
        const DAYS_1900_TO_1970: i64 = 70 * 365 + 17;
        let mut days = secs.div_euclid(86_400) + DAYS_1900_TO_1970;
        let tod = secs.rem_euclid(86_400);
        if days < 0 {
            return Err(IsoError::BadTimestamp(format!(
                "unix time {secs} is before 1900"
            )));
        }
        let mut year: u16 = 1900;
        loop {
            let len = if is_leap(year) { 366 } else { 365 };
            if days < len {
                break;
            }
            days -= len;
            if year == 2155 {
                return Err(IsoError::BadTimestamp(format!(
                    "unix time {secs} is after 2155"
                )));
            }
            year += 1;
        }
        let mut month = 1u8;
        loop {
            let len = i64::from(days_in_month(year, month));
            if days < len {
                break;
            }
            days -= len;
            month += 1;
        }
        // The loops above bound days < 31 and tod < 86400, so the narrowing below is exact.
        Self::new(
            year,
            month,
            (days + 1) as u8,
            (tod / 3600) as u8,
            (tod / 60 % 60) as u8,
            (tod % 60) as u8,
        )
    }

    /// From a [`SystemTime`], truncated to whole seconds.
    pub fn from_system_time(t: SystemTime) -> Result<Self> {
        let secs = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => {
                let d = e.duration();
                // Round towards the past so 1969-12-31T23:59:59.5 stays in 1969.
                let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                -whole - i64::from(d.subsec_nanos() > 0)
            }
        };
        Self::from_unix_seconds(secs)
    }

    /// The current time.
    pub fn now() -> Result<Self> {
        Self::from_system_time(SystemTime::now())
    }

    /// ECMA-119 9.1.5: seven bytes, year since 1900, month, day, hour, minute, second, offset
    /// from GMT in 15-minute steps (0: we record UTC).
    pub fn to_record_bytes(&self) -> [u8; 7] {
        [
            (self.year - 1900) as u8,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            0,
        ]
    }

    /// ECMA-119 8.4.26.1: `YYYYMMDDHHMMSScc` in ASCII digits, then the GMT offset byte (0).
    pub fn to_descriptor_bytes(&self) -> [u8; 17] {
        let text = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}00",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        let mut out = [0u8; 17];
        out[..16].copy_from_slice(text.as_bytes());
        out
    }
}

/// ECMA-119 8.4.26.1: "not specified" is sixteen '0' digits and a zero offset.
pub(crate) const UNSPECIFIED_DESCRIPTOR_DATE: [u8; 17] = *b"0000000000000000\0";

impl fmt::Display for IsoDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::ts;

    #[test]
    fn date_formats() {
        let t = ts();
        assert_eq!(t.to_record_bytes(), [124, 2, 29, 13, 5, 9, 0]);
        assert_eq!(&t.to_descriptor_bytes(), b"2024022913050900\0");
        assert_eq!(t.to_string(), "2024-02-29T13:05:09Z");
        assert_eq!(&UNSPECIFIED_DESCRIPTOR_DATE[..16], b"0000000000000000");
        assert_eq!(UNSPECIFIED_DESCRIPTOR_DATE[16], 0);
    }

    #[test]
    fn date_validation() {
        assert!(IsoDateTime::new(2023, 2, 29, 0, 0, 0).is_err());
        assert!(IsoDateTime::new(2000, 2, 29, 0, 0, 0).is_ok());
        assert!(IsoDateTime::new(1900, 2, 29, 0, 0, 0).is_err());
        assert!(IsoDateTime::new(1899, 12, 31, 0, 0, 0).is_err());
        assert!(IsoDateTime::new(2156, 1, 1, 0, 0, 0).is_err());
        assert!(IsoDateTime::new(2024, 4, 31, 0, 0, 0).is_err());
        assert!(IsoDateTime::new(2024, 13, 1, 0, 0, 0).is_err());
        assert!(IsoDateTime::new(2024, 1, 1, 24, 0, 0).is_err());
        assert!(IsoDateTime::new(2024, 1, 1, 23, 60, 0).is_err());
    }

    #[test]
    fn unix_time_conversion() {
        let d = |y, mo, da, h, mi, s| IsoDateTime::new(y, mo, da, h, mi, s).unwrap();
        assert_eq!(
            IsoDateTime::from_unix_seconds(0).unwrap(),
            d(1970, 1, 1, 0, 0, 0)
        );
        assert_eq!(
            IsoDateTime::from_unix_seconds(951_782_400).unwrap(),
            d(2000, 2, 29, 0, 0, 0)
        );
        assert_eq!(
            IsoDateTime::from_unix_seconds(1_700_000_000).unwrap(),
            d(2023, 11, 14, 22, 13, 20)
        );
        assert_eq!(
            IsoDateTime::from_unix_seconds(-1).unwrap(),
            d(1969, 12, 31, 23, 59, 59)
        );
        assert_eq!(
            IsoDateTime::from_unix_seconds(-2_208_988_800).unwrap(),
            d(1900, 1, 1, 0, 0, 0)
        );
        assert!(IsoDateTime::from_unix_seconds(-2_208_988_801).is_err());
        // 2155-12-31T23:59:59Z is the last representable second.
        assert_eq!(
            IsoDateTime::from_unix_seconds(5_869_583_999).unwrap(),
            d(2155, 12, 31, 23, 59, 59)
        );
        assert!(IsoDateTime::from_unix_seconds(5_869_584_000).is_err());
        let st = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_900);
        assert_eq!(
            IsoDateTime::from_system_time(st).unwrap(),
            d(2023, 11, 14, 22, 13, 20)
        );
        let before = UNIX_EPOCH - std::time::Duration::from_millis(500);
        assert_eq!(
            IsoDateTime::from_system_time(before).unwrap(),
            d(1969, 12, 31, 23, 59, 59)
        );
    }
}
