//! DA, TM and timestamps: the clock as DICOM and our logs write it (UTC).

use std::time::{SystemTime, UNIX_EPOCH};

/// DICOM DA and TM values (UTC) for a moment: `("YYYYMMDD", "HHMMSS")`.
pub fn dicom_date_time(t: SystemTime) -> (String, String) {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (y, m, d) = civil_from_days(secs.div_euclid(86400));
    let rem = secs.rem_euclid(86400);
    (
        format!("{y:04}{m:02}{d:02}"),
        format!("{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

/// The current time as RFC 3339 UTC with milliseconds, e.g. `2026-12-01T19:40:55.123Z`.
pub fn now_rfc3339() -> String {
    rfc3339_from_millis(now_millis())
}

/// The current time in Unix milliseconds.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds (the form of [`now_rfc3339`]).
pub fn rfc3339_from_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86400));
    let rem = secs.rem_euclid(86400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// The Unix milliseconds of a time in the form [`now_rfc3339`] writes
/// (`YYYY-MM-DDTHH:MM:SS.mmmZ`); `None` for anything else.
pub fn millis_from_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 24 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || b[19] != b'.' || b[23] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec, ms) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(y, mo as u32, d as u32);
    Some(((days * 86400 + h * 3600 + mi * 60 + sec) * 1000) + ms)
}

/// A proleptic Gregorian date to days since 1970-01-01 (the inverse of `civil_from_days`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// ACR-NEMA era dates (`1994.11.05`) and times (`11:20:00`) are retired forms that DICOMDIR
/// readers and validators reject; the digits are the same value in the current form. Other
/// VRs and values that are not of that shape come back unchanged.
pub fn normalize_legacy(vr: [u8; 2], value: Vec<u8>) -> Vec<u8> {
    let (sep, shape): (u8, &[usize]) = match &vr {
        b"DA" => (b'.', &[4, 2, 2]),
        b"TM" => (b':', &[2, 2, 2]),
        _ => return value,
    };
    if !value.contains(&sep) {
        return value;
    }
    let (main, frac) = match value.iter().position(|&b| b == b'.' && vr == *b"TM") {
        Some(p) => (&value[..p], &value[p..]),
        None => (&value[..], &[][..]),
    };
    let parts: Vec<&[u8]> = main.split(|&b| b == sep).collect();
    let fits = parts.len() <= shape.len()
        && parts
            .iter()
            .zip(shape)
            .all(|(p, &n)| p.len() == n && p.iter().all(u8::is_ascii_digit));
    if !fits {
        return value;
    }
    let mut out: Vec<u8> = parts.concat();
    out.extend_from_slice(frac);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_round_trips_through_millis() {
        for ms in [0, 1_764_618_055_123, 951_782_400_000, 4_107_542_399_999] {
            let s = rfc3339_from_millis(ms);
            assert_eq!(millis_from_rfc3339(&s), Some(ms), "{s}");
        }
        assert_eq!(rfc3339_from_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            millis_from_rfc3339("2000-02-29T00:00:00.000Z"),
            Some(951_782_400_000)
        );
        for bad in [
            "",
            "2026-12-01T19:40:55Z",
            "2026-13-01T19:40:55.123Z",
            "2026-12-01 19:40:55.123Z",
        ] {
            assert_eq!(millis_from_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates() {
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3661); // 2000-02-29 01:01:01
        assert_eq!(
            dicom_date_time(t),
            ("20000229".to_string(), "010101".to_string())
        );
        assert_eq!(
            normalize_legacy(*b"DA", b"1994.11.05".to_vec()),
            b"19941105"
        );
        assert_eq!(
            normalize_legacy(*b"TM", b"11:20:00.5".to_vec()),
            b"112000.5"
        );
        assert_eq!(
            normalize_legacy(*b"DA", b"1994.1.05".to_vec()),
            b"1994.1.05"
        );
        assert_eq!(
            normalize_legacy(*b"LO", b"1994.11.05".to_vec()),
            b"1994.11.05"
        );
        assert_eq!(now_rfc3339().len(), 24);
    }
}
