//! A waveform instance (12-lead ECG and the other Waveform IODs, PS3.3 C.10.9) drawn as SVG
//! the way ECG paper shows it: 25 mm per second, 10 mm per millivolt, one row per channel
//! of the first multiplex group, on a 1 mm / 5 mm grid. Values are the samples scaled by
//! Channel Sensitivity and its Correction Factor, plus the Channel Baseline (as pydicom's
//! `waveform_array` computes them), in the units Channel Sensitivity Units names (µV are
//! shown as mV). Plain SVG 1.1: no script, no style sheet, no reference outside the file.

use std::fmt::Write;
use std::path::Path;

use dcmdisc_dicom::charset::decode_text;
use dcmdisc_dicom::items::{split_items_in, Item};
use dcmdisc_dicom::tag;

use super::super::text::xhtml;
use super::object::read_top;

/// Paper speed and gain of a standard ECG print.
const MM_PER_SECOND: f64 = 25.0;
const MM_PER_MV: f64 = 10.0;
/// Height of one channel's row; the label column's width.
const ROW_MM: f64 = 30.0;
const LABEL_MM: f64 = 34.0;
/// Points drawn per second at most (an ECG's content lies below 150 Hz).
const MAX_POINTS_PER_SECOND: f64 = 500.0;
/// Longest stretch drawn, and most channels.
const MAX_SECONDS: f64 = 60.0;
const MAX_CHANNELS: usize = 64;

/// The SVG of the waveform at `path`, and a one-line description of what it shows.
pub(crate) fn svg(path: &Path) -> Result<(String, String), String> {
    let (top, explicit) = read_top(
        path,
        &[tag::SPECIFIC_CHARACTER_SET],
        &[tag::WAVEFORM_SEQUENCE],
    )?;
    let charset = top
        .get(&tag::SPECIFIC_CHARACTER_SET)
        .map(|v| String::from_utf8_lossy(v).trim().to_string())
        .unwrap_or_default();
    let seq = top
        .get(&tag::WAVEFORM_SEQUENCE)
        .ok_or("no Waveform Sequence")?;
    let groups = split_items_in(seq, explicit).ok_or("the Waveform Sequence does not split")?;
    let group = groups.first().ok_or("the Waveform Sequence is empty")?;
    draw(group, explicit, &charset)
}

fn text(item: &Item<'_>, t: u32, charset: &str) -> String {
    item.value(t)
        .map(|v| {
            decode_text(v, charset)
                .trim_end_matches(['\0', ' '])
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

fn number(item: &Item<'_>, t: u32, charset: &str) -> Option<f64> {
    text(item, t, charset)
        .split('\\')
        .next()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

fn u16_of(item: &Item<'_>, t: u32) -> Option<u16> {
    item.value(t)
        .and_then(|v| v.get(..2))
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
}

fn u32_of(item: &Item<'_>, t: u32) -> Option<u32> {
    item.value(t)
        .and_then(|v| v.get(..4))
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

struct Channel {
    label: String,
    /// Multiplier from a sample to millivolts (or the channel's own unit), and the offset.
    scale: f64,
    offset: f64,
    unit: String,
}

fn channels(
    group: &Item<'_>,
    explicit: bool,
    charset: &str,
    n: usize,
) -> Result<Vec<Channel>, String> {
    let defs = group
        .value(tag::CHANNEL_DEFINITION_SEQUENCE)
        .and_then(|s| split_items_in(s, explicit))
        .ok_or("no Channel Definition Sequence")?;
    if defs.len() != n {
        return Err(format!(
            "{} channel definitions for {n} channels",
            defs.len()
        ));
    }
    Ok(defs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let source = d
                .value(tag::CHANNEL_SOURCE_SEQUENCE)
                .and_then(|s| split_items_in(s, explicit))
                .and_then(|s| s.first().map(|c| text(c, tag::CODE_MEANING, charset)))
                .unwrap_or_default();
            let label = [text(d, tag::CHANNEL_LABEL, charset), source]
                .into_iter()
                .find(|l| !l.is_empty())
                .unwrap_or_else(|| format!("channel {}", i + 1));
            let unit = d
                .value(tag::CHANNEL_SENSITIVITY_UNITS_SEQUENCE)
                .and_then(|s| split_items_in(s, explicit))
                .and_then(|s| s.first().map(|c| text(c, tag::CODE_VALUE, charset)))
                .unwrap_or_default();
            let sensitivity = number(d, tag::CHANNEL_SENSITIVITY, charset).unwrap_or(1.0);
            let correction =
                number(d, tag::CHANNEL_SENSITIVITY_CORRECTION_FACTOR, charset).unwrap_or(1.0);
            let baseline = number(d, tag::CHANNEL_BASELINE, charset).unwrap_or(0.0);
            let to_mv = match unit.as_str() {
                "uV" => 0.001,
                "mV" => 1.0,
                "V" => 1000.0,
                _ => 1.0,
            };
            Channel {
                label,
                scale: sensitivity * correction * to_mv,
                offset: baseline * correction * to_mv,
                unit: if to_mv == 1.0 && unit != "mV" {
                    unit
                } else {
                    "mV".into()
                },
            }
        })
        .collect())
}

/// Waveform Bits Allocated with Waveform Sample Interpretation (PS3.3 C.10.9.1.5): the
/// sample encodings drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SampleKind {
    Signed8,
    Unsigned8,
    /// 8-bit µ-law and A-law (ITU-T G.711), decoded to 16-bit linear values.
    MuLaw,
    ALaw,
    Signed16,
    Unsigned16,
    Signed32,
    Unsigned32,
}

impl SampleKind {
    fn of(bits: u16, interpretation: &str) -> Option<SampleKind> {
        Some(match (bits, interpretation) {
            (8, "SB") => SampleKind::Signed8,
            (8, "UB") => SampleKind::Unsigned8,
            (8, "MB") => SampleKind::MuLaw,
            (8, "AB") => SampleKind::ALaw,
            (16, "SS") => SampleKind::Signed16,
            (16, "US") => SampleKind::Unsigned16,
            (32, "SL") => SampleKind::Signed32,
            (32, "UL") => SampleKind::Unsigned32,
            _ => return None,
        })
    }

    fn bytes(self) -> usize {
        match self {
            SampleKind::Signed8 | SampleKind::Unsigned8 | SampleKind::MuLaw | SampleKind::ALaw => 1,
            SampleKind::Signed16 | SampleKind::Unsigned16 => 2,
            SampleKind::Signed32 | SampleKind::Unsigned32 => 4,
        }
    }

    /// Sample `i` of the interleaved data (the caller checked the length).
    fn read(self, data: &[u8], i: usize) -> f64 {
        let at = i * self.bytes();
        let word = |n: usize| {
            let mut b = [0u8; 4];
            b[..n].copy_from_slice(&data[at..at + n]);
            b
        };
        match self {
            SampleKind::Signed8 => f64::from(data[at] as i8),
            SampleKind::Unsigned8 => f64::from(data[at]),
            SampleKind::MuLaw => f64::from(mu_law(data[at])),
            SampleKind::ALaw => f64::from(a_law(data[at])),
            SampleKind::Signed16 => f64::from(i16::from_le_bytes([data[at], data[at + 1]])),
            SampleKind::Unsigned16 => f64::from(u16::from_le_bytes([data[at], data[at + 1]])),
            SampleKind::Signed32 => f64::from(i32::from_le_bytes(word(4))),
            SampleKind::Unsigned32 => f64::from(u32::from_le_bytes(word(4))),
        }
    }
}

/// G.711 µ-law to linear (the 14-bit range scaled as the reference decoder does).
fn mu_law(b: u8) -> i16 {
    let b = !b;
    let sign = b & 0x80;
    let exponent = (b >> 4) & 0x07;
    let mantissa = i16::from(b & 0x0f);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if sign != 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// G.711 A-law to linear.
fn a_law(b: u8) -> i16 {
    let b = b ^ 0x55;
    let sign = b & 0x80;
    let exponent = (b >> 4) & 0x07;
    let mantissa = i16::from(b & 0x0f);
    let magnitude = match exponent {
        0 => (mantissa << 4) + 8,
        e => ((mantissa << 4) + 0x108) << (e - 1),
    };
    if sign != 0 {
        magnitude
    } else {
        -magnitude
    }
}

fn draw(group: &Item<'_>, explicit: bool, charset: &str) -> Result<(String, String), String> {
    let n = usize::from(u16_of(group, tag::NUMBER_OF_WAVEFORM_CHANNELS).ok_or("no channel count")?);
    let samples = u32_of(group, tag::NUMBER_OF_WAVEFORM_SAMPLES).ok_or("no sample count")? as usize;
    let fs = number(group, tag::SAMPLING_FREQUENCY, charset)
        .filter(|f| *f > 0.0)
        .ok_or("no Sampling Frequency")?;
    let bits = u16_of(group, tag::WAVEFORM_BITS_ALLOCATED).unwrap_or(16);
    let interpretation = text(group, tag::WAVEFORM_SAMPLE_INTERPRETATION, charset);
    if n == 0 || n > MAX_CHANNELS {
        return Err(format!("{n} channels"));
    }
    let kind = SampleKind::of(bits, &interpretation)
        .ok_or_else(|| format!("{bits}-bit {interpretation} samples are not drawn"))?;
    let data = group.value(tag::WAVEFORM_DATA).ok_or("no Waveform Data")?;
    if data.len() < samples * n * kind.bytes() {
        return Err("the Waveform Data is shorter than its channels and samples".into());
    }
    let chans = channels(group, explicit, charset, n)?;
    let shown = samples.min((MAX_SECONDS * fs) as usize);
    let step = ((fs / MAX_POINTS_PER_SECOND).ceil() as usize).max(1);
    let seconds = shown as f64 / fs;
    let width = LABEL_MM + seconds * MM_PER_SECOND;
    let height = ROW_MM * n as f64;
    let mut t = String::new();
    let _ = write!(
        t,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{width:.1}mm\" \
         height=\"{height:.1}mm\" viewBox=\"0 0 {width:.1} {height:.1}\">\r\n\
         <rect x=\"0\" y=\"0\" width=\"{width:.1}\" height=\"{height:.1}\" fill=\"#ffffff\"/>\r\n"
    );
    // The paper's grid: 1 mm lines light, 5 mm lines darker.
    let mut grid = |every: f64, colour: &str, stroke: f64| {
        let mut d = String::new();
        let mut x = LABEL_MM;
        while x <= width + 1e-9 {
            let _ = write!(d, "M{x:.1} 0V{height:.1}");
            x += every;
        }
        let mut y = 0.0;
        while y <= height + 1e-9 {
            let _ = write!(d, "M{LABEL_MM:.1} {y:.1}H{width:.1}");
            y += every;
        }
        let _ = write!(
            t,
            "<path d=\"{d}\" stroke=\"{colour}\" stroke-width=\"{stroke}\" fill=\"none\"/>\r\n"
        );
    };
    grid(1.0, "#f6d0d0", 0.05);
    grid(5.0, "#e89a9a", 0.15);
    let mut units = Vec::new();
    for (c, ch) in chans.iter().enumerate() {
        let mid = ROW_MM * (c as f64 + 0.5);
        let _ = write!(
            t,
            "<text x=\"1\" y=\"{:.1}\" font-family=\"sans-serif\" font-size=\"3\">{}</text>\r\n",
            mid + 1.2,
            xhtml(&ch.label, 24)
        );
        let mut d = String::new();
        for (k, s) in (0..shown).step_by(step).enumerate() {
            let v = kind.read(data, s * n + c);
            let mv = v * ch.scale + ch.offset;
            let x = LABEL_MM + s as f64 / fs * MM_PER_SECOND;
            // Clipped to its own row, as a paper print is.
            let y = (mid - mv * MM_PER_MV).clamp(mid - ROW_MM / 2.0, mid + ROW_MM / 2.0);
            let _ = write!(d, "{}{x:.2} {y:.2}", if k == 0 { "M" } else { "L" });
        }
        let _ = write!(
            t,
            "<path d=\"{d}\" stroke=\"#000000\" stroke-width=\"0.2\" fill=\"none\"/>\r\n"
        );
        if !units.contains(&ch.unit) {
            units.push(ch.unit.clone());
        }
    }
    t.push_str("</svg>\r\n");
    let what = format!(
        "{n} channels, {seconds:.1} s at {fs} Hz, drawn at 25 mm/s and 10 mm/{}",
        units.join("/")
    );
    Ok((t, what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_kind_reads_its_values() {
        let k = SampleKind::of(8, "SB").unwrap();
        assert_eq!(k.read(&[0x80, 0x7f], 0), -128.0);
        assert_eq!(k.read(&[0x80, 0x7f], 1), 127.0);
        assert_eq!(SampleKind::of(8, "UB").unwrap().read(&[0xff], 0), 255.0);
        let s32 = SampleKind::of(32, "SL").unwrap();
        assert_eq!(s32.read(&(-70_000i32).to_le_bytes(), 0), -70_000.0);
        assert_eq!(
            SampleKind::of(32, "UL")
                .unwrap()
                .read(&u32::MAX.to_le_bytes(), 0),
            f64::from(u32::MAX)
        );
        assert_eq!(
            SampleKind::of(16, "SS")
                .unwrap()
                .read(&[0, 0, 0xff, 0xff], 1),
            -1.0
        );
        assert_eq!(SampleKind::of(16, "OB"), None);
        assert_eq!(SampleKind::of(64, "SV"), None);
    }

    #[test]
    fn g711_decodes_as_the_reference_tables() {
        // ITU-T G.711 µ-law: 0xFF and 0x7F are the two zeros, 0x00 and 0x80 the extremes.
        assert_eq!(mu_law(0xff), 0);
        assert_eq!(mu_law(0x7f), 0);
        assert_eq!(mu_law(0x00), -32124);
        assert_eq!(mu_law(0x80), 32124);
        // A-law: 0xD5 and 0x55 are the smallest magnitudes, 0xAA and 0x2A the largest.
        assert_eq!(a_law(0xd5), 8);
        assert_eq!(a_law(0x55), -8);
        assert_eq!(a_law(0xaa), 32256);
        assert_eq!(a_law(0x2a), -32256);
    }
}
