//! The display-ready buffer a rendering produces (8-bit gray or 8-bit RGB, rows top to
//! bottom), its scaled-down copies, and PGM/PPM bytes (what dcmtk's dcmj2pnm writes, so the
//! two can be compared byte for byte).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Gray8,
    /// R G B per pixel.
    Rgb8,
}

impl Format {
    pub fn channels(self) -> usize {
        match self {
            Format::Gray8 => 1,
            Format::Rgb8 => 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub format: Format,
    pub data: Vec<u8>,
    /// The instance's ICC Profile (0028,2000) for colour images: the samples are in its
    /// colour space, and [`crate::jpeg`] embeds it (browsers honour an embedded profile).
    pub icc: Option<Vec<u8>>,
}

impl Image {
    /// A copy that fits in `max` × `max` (aspect kept, never enlarged): each output pixel is
    /// the rounded mean of the source pixels of its box, in integers, so the result is the
    /// same on every machine.
    pub fn fit(&self, max: usize) -> Image {
        let max = max.max(1);
        let long = self.width.max(self.height);
        if long <= max {
            return self.clone();
        }
        let w = (self.width * max).div_ceil(long).max(1);
        let h = (self.height * max).div_ceil(long).max(1);
        let ch = self.format.channels();
        let mut data = Vec::with_capacity(w * h * ch);
        for oy in 0..h {
            let (y0, y1) = (
                oy * self.height / h,
                ((oy + 1) * self.height / h).max(oy * self.height / h + 1),
            );
            for ox in 0..w {
                let (x0, x1) = (
                    ox * self.width / w,
                    ((ox + 1) * self.width / w).max(ox * self.width / w + 1),
                );
                let n = ((y1 - y0) * (x1 - x0)) as u64;
                for c in 0..ch {
                    let mut sum = 0u64;
                    for y in y0..y1 {
                        let row =
                            &self.data[(y * self.width) * ch..(y * self.width + self.width) * ch];
                        for x in x0..x1 {
                            sum += u64::from(row[x * ch + c]);
                        }
                    }
                    data.push(((sum + n / 2) / n) as u8);
                }
            }
        }
        Image {
            width: w,
            height: h,
            format: self.format,
            data,
            icc: self.icc.clone(),
        }
    }

    /// Binary PGM (P5) or PPM (P6), maxval 255.
    pub fn to_pnm(&self) -> Vec<u8> {
        let magic = match self.format {
            Format::Gray8 => "P5",
            Format::Rgb8 => "P6",
        };
        let mut out = format!("{magic}\n{} {}\n255\n", self.width, self.height).into_bytes();
        out.extend_from_slice(&self.data);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_averages_boxes() {
        let img = Image {
            width: 4,
            height: 2,
            format: Format::Gray8,
            data: vec![0, 10, 20, 31, 100, 110, 120, 130],
            icc: None,
        };
        let t = img.fit(2);
        assert_eq!((t.width, t.height), (2, 1));
        // (0+10+100+110)/4 = 55, (20+31+120+130)/4 = 75.25
        assert_eq!(t.data, vec![55, 75]);
        assert_eq!(img.fit(8), img);
        assert!(img.to_pnm().starts_with(b"P5\n4 2\n255\n"));
    }
}
