//! The VOI transformation (PS3.3 C.11.2): windows with their function, VOI LUTs, the
//! presets an instance offers, and the automatic window.

use crate::lut::Lut;

/// VOI LUT Function (0028,1056), C.11.2.1.3. Absent means LINEAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VoiFunction {
    #[default]
    Linear,
    LinearExact,
    Sigmoid,
}

impl VoiFunction {
    /// The defined terms; anything else (an unknown term) is read as LINEAR, as the module
    /// default, and said in the preset's explanation by the caller.
    pub fn parse(s: &str) -> Option<VoiFunction> {
        match s {
            "LINEAR" => Some(VoiFunction::Linear),
            "LINEAR_EXACT" => Some(VoiFunction::LinearExact),
            "SIGMOID" => Some(VoiFunction::Sigmoid),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            VoiFunction::Linear => "LINEAR",
            VoiFunction::LinearExact => "LINEAR_EXACT",
            VoiFunction::Sigmoid => "SIGMOID",
        }
    }

    /// Is `width` allowed? LINEAR needs ≥ 1 (C.11.2.1.2.1), the others > 0.
    pub fn width_ok(self, width: f64) -> bool {
        width.is_finite()
            && match self {
                VoiFunction::Linear => width >= 1.0,
                _ => width > 0.0,
            }
    }

    /// The window applied to `x`, as a fraction of the output range (0 ..= 1).
    pub fn apply(self, x: f64, center: f64, width: f64) -> f64 {
        match self {
            // C.11.2.1.2.1: the interval is (c − 0.5 − (w−1)/2, c − 0.5 + (w−1)/2], so that a
            // window of width w covers exactly w input values; c ± w/2 is half a value off.
            VoiFunction::Linear => {
                let c = center - 0.5;
                let half = (width - 1.0) / 2.0;
                if x <= c - half {
                    0.0
                } else if x > c + half {
                    1.0
                } else if width <= 1.0 {
                    // w = 1: the interval holds no value between the bounds.
                    1.0
                } else {
                    (x - c) / (width - 1.0) + 0.5
                }
            }
            // C.11.2.1.3.2.
            VoiFunction::LinearExact => {
                if x <= center - width / 2.0 {
                    0.0
                } else if x > center + width / 2.0 {
                    1.0
                } else {
                    (x - center) / width + 0.5
                }
            }
            // C.11.2.1.3.1.
            VoiFunction::Sigmoid => 1.0 / (1.0 + (-4.0 * (x - center) / width).exp()),
        }
    }
}

/// The VOI a rendering uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Window {
    /// The instance's first preset (for enhanced objects the frame's own first), else
    /// [`Window::MinMax`].
    Default,
    /// The `n`-th of the frame's presets ([`crate::Instance::presets`]).
    Preset(usize),
    /// A window of one's own.
    Linear {
        center: f64,
        width: f64,
        function: VoiFunction,
    },
    /// The modality values' minimum to maximum over the frame, Pixel Padding left out.
    MinMax,
}

/// What a preset does.
#[derive(Debug, Clone, PartialEq)]
pub enum Voi {
    Window {
        center: f64,
        width: f64,
        function: VoiFunction,
    },
    Lut(Lut),
}

/// One alternative view the instance offers (PS3.3 C.11.2.1.2: several Window Center / Width
/// pairs, or several VOI LUT items, are alternatives), with its explanation (Window Center &
/// Width Explanation (0028,1055) or LUT Explanation (0028,3003); empty when absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    pub voi: Voi,
    pub explanation: String,
}

impl Preset {
    /// A one-line description: the explanation, or the window's numbers.
    pub fn label(&self) -> String {
        let numbers = match &self.voi {
            Voi::Window {
                center,
                width,
                function,
            } => match function {
                VoiFunction::Linear => format!("C {center} W {width}"),
                f => format!("C {center} W {width} {}", f.name()),
            },
            Voi::Lut(l) => format!("VOI LUT ({} entries)", l.entries.len()),
        };
        if self.explanation.is_empty() {
            numbers
        } else {
            format!("{} ({numbers})", self.explanation)
        }
    }
}

/// The window dcmtk calls "min-max" (and the automatic one of PS3.4 N.2 viewers use): over
/// `lo ..= hi`, centre (lo + hi + 1) / 2 and width hi − lo + 1, so that `lo` maps to the
/// darkest and `hi` to the brightest output with LINEAR.
pub fn min_max_window(lo: f64, hi: f64) -> (f64, f64) {
    ((lo + hi + 1.0) / 2.0, (hi - lo + 1.0).max(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_is_not_c_plus_minus_half_w() {
        let f = VoiFunction::Linear;
        // c = 2048, w = 4096: 0 is the last value at the bottom, 4095 the first at the top.
        assert_eq!(f.apply(0.0, 2048.0, 4096.0), 0.0);
        assert!(f.apply(1.0, 2048.0, 4096.0) > 0.0);
        assert!(f.apply(4094.0, 2048.0, 4096.0) < 1.0);
        assert_eq!(f.apply(4095.0, 2048.0, 4096.0), 1.0);
        // c ± w/2 would put 2048 at exactly 0.5; the standard puts 2047.5 there.
        assert_eq!(f.apply(2047.5, 2048.0, 4096.0), 0.5);
        // Width 1: a threshold at c − 0.5.
        assert_eq!(f.apply(39.0, 40.0, 1.0), 0.0);
        assert_eq!(f.apply(40.0, 40.0, 1.0), 1.0);
        let e = VoiFunction::LinearExact;
        assert_eq!(e.apply(2048.0, 2048.0, 4096.0), 0.5);
        assert_eq!(e.apply(0.0, 2048.0, 4096.0), 0.0);
        let s = VoiFunction::Sigmoid;
        assert_eq!(s.apply(40.0, 40.0, 400.0), 0.5);
        assert!(!VoiFunction::Linear.width_ok(0.5));
        assert!(VoiFunction::Sigmoid.width_ok(0.5));
        assert_eq!(min_max_window(0.0, 255.0), (128.0, 256.0));
    }
}
