//! Opening an instance: File Meta, the header walk that keeps what rendering needs,
//! decompression through the transcoder, and the attributes read once.

use std::io::Cursor;
use std::path::Path;

use dcmdisc_dicom::meta::parse_meta;
use dcmdisc_dicom::tag::PIXEL_DATA;
use dcmdisc_dicom::uid::{EXPLICIT_VR_LE, IMPLICIT_VR_LE};
use dcmdisc_dicom::walk;
use dcmdisc_transcode::{convert_file, Identity, Target};

use crate::attrs::{
    cs, Kept, Source, PER_FRAME_FUNCTIONAL_GROUPS, PRESENTATION_LUT_SHAPE, SHARED_FUNCTIONAL_GROUPS,
};
use crate::error::{unsupported, RenderError, Result};
use crate::items;
use crate::lut::Lut;
use crate::overlay::{self, OverlayPlane};
use crate::parse::{self, FrameGroups, Geometry, Modality, Photometric};
use crate::place::{self, Place};
use crate::voi::Preset;

/// One instance, ready to render: its pixel module read, its Pixel Data native.
#[derive(Debug, Clone)]
pub struct Instance {
    pub(crate) geometry: Geometry,
    pub(crate) pixels: Vec<u8>,
    pub(crate) frame_len: usize,
    pub(crate) modality: Modality,
    pub(crate) presets: Vec<Preset>,
    /// Per-frame functional groups of enhanced objects, frame by frame (empty otherwise).
    pub(crate) per_frame: Vec<FrameGroups>,
    pub(crate) padding: Option<(i64, i64)>,
    /// MONOCHROME1 or Presentation LUT Shape INVERSE: the output is inverted, once.
    pub(crate) invert: bool,
    pub(crate) palette: Option<[Lut; 3]>,
    pub(crate) overlays: Vec<OverlayPlane>,
    /// ICC Profile (0028,2000) of a colour image.
    pub(crate) icc: Option<Vec<u8>>,
    pub(crate) place: Place,
    transfer_syntax: String,
}

const ICC_PROFILE: u32 = 0x0028_2000;

/// The identity the transcoder writes into the scratch file's File Meta (never kept).
fn scratch_identity() -> Identity {
    Identity {
        implementation_class_uid: "2.25.267312939302375511414433714362251802968".into(),
        implementation_version_name: "DCMDISC_RENDER".into(),
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RenderError + '_ {
    move |source| RenderError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Instance {
    /// Opens a Part 10 file.
    pub fn open_path(path: &Path) -> Result<Instance> {
        let bytes = std::fs::read(path).map_err(io_err(path))?;
        Instance::open_inner(bytes, Some(path))
    }

    /// Opens a Part 10 file's bytes.
    pub fn open(bytes: Vec<u8>) -> Result<Instance> {
        Instance::open_inner(bytes, None)
    }

    fn open_inner(bytes: Vec<u8>, path: Option<&Path>) -> Result<Instance> {
        let meta = parse_meta(&bytes)?;
        let ts = meta.transfer_syntax_uid();
        let explicit = match ts.as_str() {
            EXPLICIT_VR_LE => true,
            IMPLICIT_VR_LE => false,
            other if dcmdisc_transcode::can_convert(other, Target::ExplicitLe) => {
                let native = decompress(&bytes, path)?;
                let mut inst = Instance::open_inner(native, None)?;
                inst.transfer_syntax = ts;
                return Ok(inst);
            }
            other => return Err(RenderError::UnsupportedTransferSyntax(other.to_string())),
        };
        let mut kept = Kept::default();
        walk::walk(
            Cursor::new(bytes.as_slice()),
            meta.dataset_offset,
            bytes.len() as u64,
            explicit,
            &mut kept,
        )?;
        if kept.encapsulated {
            return Err(unsupported(format!(
                "encapsulated Pixel Data in the native transfer syntax {ts}"
            )));
        }
        Instance::from_kept(kept, explicit, ts)
    }

    fn from_kept(mut kept: Kept, explicit: bool, transfer_syntax: String) -> Result<Instance> {
        let pixels = match kept.values.remove(&PIXEL_DATA) {
            Some(v) => v.bytes,
            None if kept.float_pixels => {
                return Err(RenderError::NoPixelData(
                    "Float Pixel Data is not rendered yet",
                ))
            }
            None => return Err(RenderError::NoPixelData("no Pixel Data (7FE0,0010)")),
        };
        let geometry = parse::geometry(&kept)?;
        let frame_len = geometry
            .frame_len()
            .ok_or_else(|| unsupported("frame size overflows"))?;
        let need = frame_len
            .checked_mul(geometry.frames)
            .ok_or_else(|| unsupported("pixel data size overflows"))?;
        if pixels.len() < need {
            return Err(unsupported(format!(
                "Pixel Data holds {} bytes, {} frames of {}×{} need {need}",
                pixels.len(),
                geometry.frames,
                geometry.cols,
                geometry.rows
            )));
        }
        let charset = parse::charset(&kept);
        let gray = geometry.photometric.is_gray();
        let shared_item = group_items(&kept, SHARED_FUNCTIONAL_GROUPS, explicit)
            .and_then(|v| v.into_iter().next());
        let per_frame_items =
            group_items(&kept, PER_FRAME_FUNCTIONAL_GROUPS, explicit).unwrap_or_default();
        let place = place::place(
            &kept,
            shared_item.as_deref(),
            &per_frame_items,
            geometry.frames,
            explicit,
        );
        let shared = shared_item
            .map(|it| parse::frame_groups(&it, explicit, &charset))
            .unwrap_or_default();
        let per_frame: Vec<FrameGroups> = per_frame_items
            .iter()
            .map(|it| parse::frame_groups(it, explicit, &charset))
            .collect();
        drop(per_frame_items);
        let modality = if gray {
            match parse::modality(&kept, explicit, geometry.signed)? {
                Some(m) => m,
                None => shared.modality.clone().unwrap_or(Modality::IDENTITY),
            }
        } else {
            Modality::IDENTITY
        };
        let mut presets = Vec::new();
        if gray {
            presets = parse::windows(&kept, &charset);
            if presets.is_empty() {
                presets = shared.windows.clone().unwrap_or_default();
            }
            let negative = match &modality {
                Modality::Rescale { slope, intercept } => {
                    geometry.signed || *intercept < 0.0 || *slope < 0.0
                }
                Modality::Lut(_) => false,
            };
            presets.extend(parse::voi_luts(&kept, explicit, negative, &charset)?);
        }
        let shape = cs(&kept, PRESENTATION_LUT_SHAPE);
        // PS3.3 (the DX family's image modules, C.8.11; C.11.6): INVERSE is how MONOCHROME1
        // data reach P-values, not a second inversion; either one inverts, both only once.
        let invert = gray
            && (geometry.photometric == Photometric::Monochrome1
                || shape.as_deref() == Some("INVERSE"));
        let palette = if geometry.photometric == Photometric::PaletteColor {
            Some(palette(&kept, geometry.signed)?)
        } else {
            None
        };
        let padding = if gray {
            parse::padding(&kept, geometry.signed)
        } else {
            None
        };
        let overlays = overlay::planes(&kept, &geometry, &charset);
        let icc = if gray {
            None
        } else {
            kept.values
                .remove(&ICC_PROFILE)
                .map(|v| v.bytes)
                .filter(|b| !b.is_empty())
        };
        Ok(Instance {
            geometry,
            pixels,
            frame_len,
            modality,
            presets,
            per_frame,
            padding,
            invert,
            palette,
            overlays,
            icc,
            place,
            transfer_syntax,
        })
    }

    pub fn transfer_syntax(&self) -> &str {
        &self.transfer_syntax
    }

    pub fn rows(&self) -> usize {
        self.geometry.rows
    }

    pub fn columns(&self) -> usize {
        self.geometry.cols
    }

    pub fn frames(&self) -> usize {
        self.geometry.frames
    }

    pub fn photometric(&self) -> Photometric {
        self.geometry.photometric
    }

    /// The stored bytes of frame `frame` (0-based).
    pub(crate) fn frame_bytes(&self, frame: usize) -> Result<&[u8]> {
        if frame >= self.geometry.frames {
            return Err(RenderError::NoSuchFrame {
                frame,
                frames: self.geometry.frames,
            });
        }
        Ok(&self.pixels[frame * self.frame_len..(frame + 1) * self.frame_len])
    }

    /// The Modality LUT stage of frame `frame`: a per-frame Pixel Value Transformation
    /// overrides the instance's.
    pub(crate) fn frame_modality(&self, frame: usize) -> &Modality {
        self.per_frame
            .get(frame)
            .and_then(|g| g.modality.as_ref())
            .unwrap_or(&self.modality)
    }

    /// The alternative views of frame 0 (for enhanced objects the others may have their own:
    /// [`Instance::frame_presets`]). Empty for colour images, which have no VOI.
    pub fn presets(&self) -> &[Preset] {
        self.frame_presets(0)
    }

    /// The alternative views of frame `frame`: its Frame VOI LUT when the per-frame groups
    /// have one, else the instance's.
    pub fn frame_presets(&self, frame: usize) -> &[Preset] {
        self.per_frame
            .get(frame)
            .and_then(|g| g.windows.as_deref())
            .filter(|w| !w.is_empty() && self.geometry.photometric.is_gray())
            .unwrap_or(&self.presets)
    }

    /// Pixel Spacing (row, column) in mm, when the instance gives a usable one.
    pub fn pixel_spacing(&self) -> Option<(f64, f64)> {
        self.place.spacing
    }

    /// Where frame `frame` lies along its stack, in mm (`place.rs`).
    pub fn position(&self, frame: usize) -> Option<f64> {
        self.place.positions.get(frame).copied().flatten()
    }

    /// Image Orientation (Patient): row then column direction cosines.
    pub fn orientation(&self) -> Option<[f64; 6]> {
        self.place.orientation
    }

    /// Modality (0008,0060), e.g. "CT".
    pub fn modality_name(&self) -> Option<&str> {
        self.place.modality.as_deref()
    }

    pub fn overlay_planes(&self) -> &[OverlayPlane] {
        &self.overlays
    }
}

fn group_items<'a>(kept: &'a Kept, tag: u32, explicit: bool) -> Option<Vec<items::Item<'a>>> {
    let (vr, b) = kept.get(tag)?;
    items::split(b, crate::attrs::items_explicit(vr, explicit))
}

/// The three Palette Color LUTs (C.7.6.3.1.5), from their data or their segmented data
/// (C.7.9.2).
fn palette(k: &Kept, signed: bool) -> Result<[Lut; 3]> {
    let one = |i: usize| -> Result<Lut> {
        let name = ["red", "green", "blue"][i];
        let desc = parse::PALETTE_DESCRIPTORS[i];
        if let Some(l) = Lut::from_source(k, desc, parse::PALETTE_DATA[i], signed, name)? {
            return Ok(l);
        }
        match (k.get(desc), k.get(parse::SEGMENTED_PALETTE_DATA[i])) {
            (Some(d), Some((_, seg))) => Lut::segmented(d, seg, signed, name),
            _ => Err(unsupported(format!("PALETTE COLOR without its {name} LUT"))),
        }
    };
    Ok([one(0)?, one(1)?, one(2)?])
}

/// Compressed Pixel Data → the bytes of the same instance in Explicit VR Little Endian,
/// through the transcoder's file-to-file conversion (scratch files, removed on return).
fn decompress(bytes: &[u8], path: Option<&Path>) -> Result<Vec<u8>> {
    let dir = tempfile::Builder::new()
        .prefix("dcmdisc-render-")
        .tempdir()
        .map_err(io_err(Path::new("temporary folder")))?;
    let input = match path {
        Some(p) => p.to_path_buf(),
        None => {
            let p = dir.path().join("in.dcm");
            std::fs::write(&p, bytes).map_err(io_err(&p))?;
            p
        }
    };
    let output = dir.path().join("out.dcm");
    convert_file(&input, &output, Target::ExplicitLe, &scratch_identity())?;
    let native = std::fs::read(&output).map_err(io_err(&output))?;
    Ok(native)
}
