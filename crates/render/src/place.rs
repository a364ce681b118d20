//! Where an instance's pixels lie, for the viewer's annotations and its distance tool:
//! Pixel Spacing (PS3.3 C.7.6.2.1.1; enhanced objects: the Pixel Measures functional group,
//! C.7.6.16.2.1), each frame's place along the stack (Slice Location, else the third value of
//! Image Position (Patient); enhanced: the frame's Plane Position, C.7.6.16.2.3), the
//! orientation (Image Orientation (Patient), C.7.6.2.1.1; enhanced: Plane Orientation,
//! C.7.6.16.2.4) and the Modality (0008,0060). Nothing here changes a rendering.

use crate::attrs::{cs, numbers, Kept, Source};
use crate::items::{self, Elem};

pub const PIXEL_SPACING: u32 = 0x0028_0030;
pub const SLICE_LOCATION: u32 = 0x0020_1041;
pub const IMAGE_POSITION_PATIENT: u32 = 0x0020_0032;
pub const MODALITY: u32 = 0x0008_0060;
pub const IMAGE_ORIENTATION_PATIENT: u32 = 0x0020_0037;
const PLANE_ORIENTATION_SEQUENCE: u32 = 0x0020_9116;
const PIXEL_MEASURES_SEQUENCE: u32 = 0x0028_9110;
const PLANE_POSITION_SEQUENCE: u32 = 0x0020_9113;

/// What `Instance` keeps of an instance's place.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Place {
    pub spacing: Option<(f64, f64)>,
    /// One per frame (the same value for every frame of a classic multi-frame object).
    pub positions: Vec<Option<f64>>,
    /// Image Orientation (Patient): the row and column direction cosines.
    pub orientation: Option<[f64; 6]>,
    pub modality: Option<String>,
}

/// Two positive, finite numbers: a spacing a distance can be measured with.
fn spacing_of<S: Source + ?Sized>(s: &S) -> Option<(f64, f64)> {
    let (_, b) = s.get(PIXEL_SPACING)?;
    match numbers(b)[..] {
        [Some(r), Some(c)] if r.is_finite() && c.is_finite() && r > 0.0 && c > 0.0 => Some((r, c)),
        _ => None,
    }
}

/// Six finite direction cosines, the row and the column direction each of length about 1.
fn orientation_of<S: Source + ?Sized>(s: &S) -> Option<[f64; 6]> {
    let (_, b) = s.get(IMAGE_ORIENTATION_PATIENT)?;
    let v: Vec<f64> = numbers(b).into_iter().collect::<Option<_>>()?;
    let o: [f64; 6] = v.try_into().ok()?;
    let unit = |a: &[f64]| (a.iter().map(|x| x * x).sum::<f64>().sqrt() - 1.0).abs() < 0.01;
    (o.iter().all(|x| x.is_finite()) && unit(&o[..3]) && unit(&o[3..])).then_some(o)
}

fn position_of<S: Source + ?Sized>(s: &S) -> Option<f64> {
    let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
    s.get(SLICE_LOCATION)
        .and_then(|(_, b)| finite(numbers(b).first().copied().flatten()))
        .or_else(|| {
            s.get(IMAGE_POSITION_PATIENT)
                .and_then(|(_, b)| finite(numbers(b).get(2).copied().flatten()))
        })
}

/// The first item of sequence `tag` in a functional group item.
fn first_item<'a>(group: &'a [Elem<'a>], tag: u32, explicit: bool) -> Option<Vec<Elem<'a>>> {
    let (vr, b) = Source::get(group, tag)?;
    items::split(b, crate::attrs::items_explicit(vr, explicit))
        .and_then(|mut v| (!v.is_empty()).then(|| v.swap_remove(0)))
}

/// The place of an instance of `frames` frames, from its top level and its shared and
/// per-frame functional groups (`shared`: the shared item, `per_frame`: one item a frame).
pub fn place(
    kept: &Kept,
    shared: Option<&[Elem<'_>]>,
    per_frame: &[items::Item<'_>],
    frames: usize,
    explicit: bool,
) -> Place {
    let spacing = spacing_of(kept).or_else(|| {
        let group_spacing = |g: &[Elem<'_>]| {
            first_item(g, PIXEL_MEASURES_SEQUENCE, explicit).and_then(|m| spacing_of(m.as_slice()))
        };
        shared
            .and_then(group_spacing)
            .or_else(|| per_frame.first().and_then(|g| group_spacing(g)))
    });
    let orientation = orientation_of(kept).or_else(|| {
        let group = |g: &[Elem<'_>]| {
            first_item(g, PLANE_ORIENTATION_SEQUENCE, explicit)
                .and_then(|m| orientation_of(m.as_slice()))
        };
        shared
            .and_then(group)
            .or_else(|| per_frame.first().and_then(|g| group(g)))
    });
    let top = position_of(kept);
    let positions = (0..frames)
        .map(|f| {
            per_frame
                .get(f)
                .and_then(|g| first_item(g, PLANE_POSITION_SEQUENCE, explicit))
                .and_then(|p| position_of(p.as_slice()))
                .or(top)
        })
        .collect();
    Place {
        spacing,
        positions,
        orientation,
        modality: cs(kept, MODALITY),
    }
}
