//! JPEG Lossless, Non-Hierarchical (Process 14, ITU-T T.81 Annex H): the decoder for
//! `.4.57` and `.4.70`.
//!
//! Our own, by measurement: dicom-pixeldata's JPEG decoder (jpeg-decoder 0.3) decodes these
//! frames at about 0.75x the speed of dcmtk's `dcmdjpeg`, libjpeg-turbo-rs at about 0.85x,
//! and the conversion must be at least as fast as dcmtk. The process is small (Huffman-coded
//! differences from one of seven predictors), so a decoder of our own reads the frame once,
//! with a lookahead Huffman table and a 64-bit bit buffer, and writes the DICOM layout
//! directly (samples interleaved, little endian). It is checked against jpeg-decoder on
//! generated streams (every predictor, point transform, precision 2-16, restart intervals,
//! interleaved and per-component scans; tests below; jpeg-decoder itself gets point
//! transforms and restarts wrong, see the test) and against `dcmdjpeg` on the real samples
//! and on dcmcjpeg output with every predictor and a point transform
//! (tests/interop/test_transcode.py).
//!
//! Supported: Huffman coding, 1-4 components with sampling factors 1x1, one or several scans,
//! restart intervals that are whole rows (as libjpeg requires). Differences are added modulo
//! 2^16 as in libjpeg. Not supported (an error, never a guess): hierarchical and arithmetic
//! coded frames, subsampled components, entropy data that ends early.

use crate::jpeg::FrameSpec;

#[derive(Clone)]
struct Huffman {
    /// (code length, symbol) for every LOOKUP_BITS-bit prefix; length 0: longer code.
    fast: Vec<(u8, u8)>,
    /// Canonical decoding for longer codes (T.81 F.2.2.3): per length 1..=16.
    maxcode: [i32; 18],
    valptr: [i32; 17],
    mincode: [i32; 17],
    values: Vec<u8>,
}

const LOOKUP_BITS: u32 = 10;

impl Huffman {
    fn new(counts: &[u8; 16], values: &[u8]) -> Result<Huffman, String> {
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        if total != values.len() || total == 0 {
            return Err("bad Huffman table".into());
        }
        let mut fast = vec![(0u8, 0u8); 1 << LOOKUP_BITS];
        let mut maxcode = [-1i32; 18];
        let mut valptr = [0i32; 17];
        let mut mincode = [0i32; 17];
        let mut code: u32 = 0;
        let mut k = 0usize;
        for len in 1..=16u32 {
            let n = counts[len as usize - 1] as usize;
            valptr[len as usize] = k as i32;
            mincode[len as usize] = code as i32;
            for _ in 0..n {
                if code >= (1 << len) {
                    return Err("Huffman table with too many codes".into());
                }
                if len <= LOOKUP_BITS {
                    let shift = LOOKUP_BITS - len;
                    let base = (code << shift) as usize;
                    for e in &mut fast[base..base + (1 << shift)] {
                        *e = (len as u8, values[k]);
                    }
                }
                code += 1;
                k += 1;
            }
            if n > 0 {
                maxcode[len as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        maxcode[17] = i32::MAX;
        Ok(Huffman {
            fast,
            maxcode,
            valptr,
            mincode,
            values: values.to_vec(),
        })
    }
}

/// Bit reader over entropy-coded data: removes stuffed zero bytes, stops at markers.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    n: u32,
    /// A marker was reached: further bits are zeros we invented.
    at_marker: bool,
    fill_bits: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Bits {
            data,
            pos,
            acc: 0,
            n: 0,
            at_marker: false,
            fill_bits: 0,
        }
    }

    #[inline(always)]
    fn refill(&mut self) {
        // Fast path: the next 8 bytes hold no 0xFF (no stuffing, no marker): take as many
        // whole bytes as the buffer has room for, at once.
        if !self.at_marker {
            if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
                let word = u64::from_be_bytes([
                    chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
                ]);
                let inv = !word;
                // A byte of `word` is 0xFF iff that byte of `inv` is zero.
                let has_ff =
                    (inv.wrapping_sub(0x0101_0101_0101_0101) & !inv & 0x8080_8080_8080_8080) != 0;
                if !has_ff {
                    let k = (64 - self.n) / 8; // 1..=8 bytes fit
                    let bits = 8 * k;
                    let take = if bits == 64 {
                        word
                    } else {
                        word >> (64 - bits)
                    };
                    self.acc |= if bits == 64 {
                        take
                    } else {
                        take << (64 - self.n - bits)
                    };
                    self.n += bits;
                    self.pos += k as usize;
                    return;
                }
            }
        }
        self.refill_slow();
    }

    #[cold]
    fn refill_slow(&mut self) {
        while self.n <= 56 {
            let b = if self.at_marker {
                self.fill_bits += 8;
                0
            } else {
                match self.data.get(self.pos) {
                    Some(&0xFF) if self.data.get(self.pos + 1) == Some(&0x00) => {
                        self.pos += 2;
                        0xFF
                    }
                    Some(&0xFF) => {
                        self.at_marker = true;
                        self.fill_bits += 8;
                        0
                    }
                    Some(&b) => {
                        self.pos += 1;
                        b
                    }
                    None => {
                        self.at_marker = true;
                        self.fill_bits += 8;
                        0
                    }
                }
            };
            self.acc |= (b as u64) << (56 - self.n);
            self.n += 8;
        }
    }

    /// One Huffman-coded difference (T.81 H.1.2.2, F.1.2.1): category, extra bits, extend.
    #[inline(always)]
    fn diff(&mut self, h: &Huffman) -> Result<i32, String> {
        if self.n < 32 {
            self.refill();
        }
        let top = (self.acc >> 48) as u32;
        let (len, sym) = h.fast[(top >> (16 - LOOKUP_BITS)) as usize];
        let s = if len != 0 {
            self.consume(len as u32);
            sym as u32
        } else {
            self.symbol(h)? as u32
        };
        Ok(match s {
            0 => 0,
            1..=15 => {
                let v = (self.acc >> (64 - s)) as i32;
                self.consume(s);
                if v < (1 << (s - 1)) {
                    v - (1 << s) + 1
                } else {
                    v
                }
            }
            16 => 32768,
            _ => return Err(format!("difference category {s}")),
        })
    }

    #[inline(always)]
    fn peek(&mut self, k: u32) -> u32 {
        if self.n < k {
            self.refill();
        }
        (self.acc >> (64 - k)) as u32
    }

    #[inline(always)]
    fn consume(&mut self, k: u32) {
        self.acc <<= k;
        self.n -= k;
    }

    #[inline(always)]
    fn symbol(&mut self, h: &Huffman) -> Result<u8, String> {
        let p = self.peek(16);
        let (len, sym) = h.fast[(p >> (16 - LOOKUP_BITS)) as usize];
        if len != 0 {
            self.consume(len as u32);
            return Ok(sym);
        }
        let mut len = LOOKUP_BITS + 1;
        loop {
            let code = (p >> (16 - len)) as i32;
            if code <= h.maxcode[len as usize] {
                self.consume(len);
                let idx = h.valptr[len as usize] + code - h.mincode[len as usize];
                return h
                    .values
                    .get(idx as usize)
                    .copied()
                    .ok_or_else(|| "bad Huffman code".to_string());
            }
            len += 1;
            if len > 16 {
                return Err("bad Huffman code".into());
            }
        }
    }

    /// Bits consumed past the real data (into invented zeros)?
    fn overran(&self) -> bool {
        self.fill_bits > self.n
    }

    /// After a restart interval: drop the padding bits, expect RSTn.
    fn restart(&mut self) -> Result<(), String> {
        if self.overran() {
            return Err("entropy-coded data ends early".into());
        }
        // Bytes taken into the buffer were all before the marker.
        self.acc = 0;
        self.n = 0;
        self.fill_bits = 0;
        self.at_marker = false;
        while self.data.get(self.pos) == Some(&0xFF) && self.data.get(self.pos + 1) == Some(&0xFF) {
            self.pos += 1;
        }
        match (self.data.get(self.pos), self.data.get(self.pos + 1)) {
            (Some(0xFF), Some(0xD0..=0xD7)) => {
                self.pos += 2;
                Ok(())
            }
            _ => Err("restart marker missing".into()),
        }
    }

    /// End of scan: position of the marker that follows the entropy-coded data.
    fn finish(mut self) -> Result<usize, String> {
        if self.overran() {
            return Err("entropy-coded data ends early".into());
        }
        // Skip what is left of the data up to the next marker.
        loop {
            match self.data.get(self.pos) {
                None => return Ok(self.pos),
                Some(&0xFF) => match self.data.get(self.pos + 1) {
                    Some(0x00) => self.pos += 2,
                    Some(0xFF) => self.pos += 1,
                    _ => return Ok(self.pos),
                },
                Some(_) => self.pos += 1,
            }
        }
    }
}

struct Component {
    id: u8,
}

fn be16(d: &[u8], i: usize) -> Result<usize, String> {
    match (d.get(i), d.get(i + 1)) {
        (Some(&a), Some(&b)) => Ok(u16::from_be_bytes([a, b]) as usize),
        _ => Err("marker segment past the end of the frame".into()),
    }
}

/// Decodes one lossless frame into `out` (rows*cols*samples samples, 1 or 2 bytes each
/// after `spec.bits_allocated`, little endian, interleaved).
pub(crate) fn decode(data: &[u8], spec: &FrameSpec, out: &mut [u8]) -> Result<(), String> {
    if data.len() < 2 || data[0] != 0xFF || data[1] != 0xD8 {
        return Err("frame does not start with a JPEG SOI marker".into());
    }
    let bytes = match spec.bits_allocated {
        8 => 1usize,
        16 => 2,
        ba => return Err(format!("Bits Allocated {ba} for a JPEG frame")),
    };
    let (width, height, ns) = (spec.cols, spec.rows, spec.samples);
    // The restart interval is counted in rows of `width`: a frame with no sample would divide
    // by zero there (found by fuzzing; `pixel::plan` refuses such attributes before us).
    if width == 0 || height == 0 || ns == 0 {
        return Err(format!("{width}x{height} frame of {ns} components"));
    }
    if out.len() != width * height * ns * bytes {
        return Err("output buffer size mismatch".into());
    }
    let mut tables: [Option<Huffman>; 4] = [None, None, None, None];
    let mut comps: Vec<Component> = Vec::new();
    let mut precision = 0u32;
    let mut restart_interval = 0usize;
    let mut decoded = vec![false; ns];
    let mut pos = 2;
    loop {
        if decoded.iter().all(|&d| d)
            && data
                .get(pos..)
                .is_none_or(|rest| rest.iter().all(|&b| b == 0))
        {
            break; // no EOI, or only padding after the last scan: the frame is complete anyway
        }
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (data.get(pos), data.get(pos + 1)) else {
            return Err(format!("expected a marker at byte {pos} of the frame"));
        };
        pos += 2;
        match marker {
            0xD9 => break,
            0xD0..=0xD7 | 0x01 => continue,
            _ => {}
        }
        let len = be16(data, pos)?;
        let seg = data
            .get(pos + 2..pos + len)
            .filter(|_| len >= 2)
            .ok_or("marker segment past the end of the frame")?;
        pos += len;
        match marker {
            0xC4 => {
                let mut s = seg;
                while !s.is_empty() {
                    let tc_th = s[0];
                    let counts: [u8; 16] = s
                        .get(1..17)
                        .and_then(|c| c.try_into().ok())
                        .ok_or("short DHT segment")?;
                    let n: usize = counts.iter().map(|&c| c as usize).sum();
                    let values = s.get(17..17 + n).ok_or("short DHT segment")?;
                    let th = (tc_th & 0x0F) as usize;
                    if th > 3 {
                        return Err("Huffman table id > 3".into());
                    }
                    tables[th] = Some(Huffman::new(&counts, values)?);
                    s = &s[17 + n..];
                }
            }
            0xC3 => {
                if seg.len() < 6 {
                    return Err("short SOF3 segment".into());
                }
                // One frame, one frame header (ITU-T T.81 B.2): a second one would add
                // components beyond those the scans are counted against.
                if !comps.is_empty() {
                    return Err("a second frame header (SOF3) in one frame".into());
                }
                precision = seg[0] as u32;
                let (h, w, nf) = (
                    u16::from_be_bytes([seg[1], seg[2]]) as usize,
                    u16::from_be_bytes([seg[3], seg[4]]) as usize,
                    seg[5] as usize,
                );
                if !(2..=16).contains(&precision) {
                    return Err(format!("sample precision {precision}"));
                }
                if bytes == 1 && precision > 8 {
                    return Err(format!("precision {precision} with Bits Allocated 8"));
                }
                if w != width || h != height {
                    return Err(format!(
                        "JPEG frame is {w}x{h}, the attributes say {width}x{height} \
                         (Columns x Rows)"
                    ));
                }
                if nf != ns {
                    return Err(format!(
                        "JPEG frame has {nf} components, Samples per Pixel is {ns}"
                    ));
                }
                let c = seg.get(6..6 + 3 * nf).ok_or("short SOF3 segment")?;
                for ch in c.chunks_exact(3) {
                    if ch[1] != 0x11 {
                        return Err(
                            "subsampled components in a lossless frame are not supported".into(),
                        );
                    }
                    comps.push(Component { id: ch[0] });
                }
            }
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return Err(format!(
                    "expected a lossless Huffman frame (SOF3), found SOF marker FF{marker:02X}"
                ));
            }
            0xDD => restart_interval = be16(seg, 0)?,
            0xDA => {
                if comps.is_empty() {
                    return Err("scan before the frame header".into());
                }
                let n = *seg.first().ok_or("short SOS segment")? as usize;
                let sel = seg.get(1..1 + 2 * n).ok_or("short SOS segment")?;
                let tail = seg.get(1 + 2 * n..4 + 2 * n).ok_or("short SOS segment")?;
                let (predictor, point_transform) = (tail[0] as u32, (tail[2] & 0x0F) as u32);
                if !(1..=7).contains(&predictor) {
                    return Err(format!("lossless predictor {predictor}"));
                }
                if point_transform >= precision {
                    return Err("point transform not below the precision".into());
                }
                let mut scan: Vec<(usize, &Huffman)> = Vec::with_capacity(n);
                for s in sel.chunks_exact(2) {
                    let c = comps
                        .iter()
                        .position(|c| c.id == s[0])
                        .ok_or("scan names an unknown component")?;
                    let t = tables[(s[1] >> 4) as usize & 3]
                        .as_ref()
                        .ok_or("scan uses an undefined Huffman table")?;
                    if decoded[c] {
                        return Err("component coded twice".into());
                    }
                    decoded[c] = true;
                    scan.push((c, t));
                }
                if restart_interval != 0 && !restart_interval.is_multiple_of(width) {
                    return Err(format!(
                        "restart interval {restart_interval} is not a whole number of rows \
                         ({width})"
                    ));
                }
                let p = Scan {
                    precision,
                    predictor,
                    point_transform,
                    restart_rows: restart_interval / width,
                    width,
                    height,
                    ns,
                    bytes,
                };
                pos = decode_scan(data, pos, &p, &scan, out)?;
            }
            _ => {} // APPn, COM, DQT, DNL, ...: nothing for us
        }
    }
    if decoded.iter().any(|d| !d) {
        return Err("a component has no scan".into());
    }
    Ok(())
}

struct Scan {
    precision: u32,
    predictor: u32,
    point_transform: u32,
    /// Rows per restart interval (0: none).
    restart_rows: usize,
    width: usize,
    height: usize,
    ns: usize,
    bytes: usize,
}

fn decode_scan(
    data: &[u8],
    pos: usize,
    p: &Scan,
    scan: &[(usize, &Huffman)],
    out: &mut [u8],
) -> Result<usize, String> {
    if let [(c, table)] = scan {
        return match p.predictor {
            1 => scan_one::<1>(data, pos, p, *c, table, out),
            2 => scan_one::<2>(data, pos, p, *c, table, out),
            3 => scan_one::<3>(data, pos, p, *c, table, out),
            4 => scan_one::<4>(data, pos, p, *c, table, out),
            5 => scan_one::<5>(data, pos, p, *c, table, out),
            6 => scan_one::<6>(data, pos, p, *c, table, out),
            _ => scan_one::<7>(data, pos, p, *c, table, out),
        };
    }
    decode_scan_interleaved(data, pos, p, scan, out)
}

/// The predictor as a compile-time constant, so the hot loops carry no match.
#[inline(always)]
fn predict<const P: u32>(ra: i32, rb: i32, rc: i32) -> i32 {
    predict_with(P, ra, rb, rc)
}

/// ITU T.81 Table H.1 predictors 1-7.
#[inline(always)]
fn predict_with(predictor: u32, ra: i32, rb: i32, rc: i32) -> i32 {
    match predictor {
        1 => ra,
        2 => rb,
        3 => rc,
        4 => ra + rb - rc,
        5 => ra + ((rb - rc) >> 1),
        6 => rb + ((ra - rc) >> 1),
        _ => (ra + rb) >> 1,
    }
}

/// One component per scan (every monochrome image): the predictor is a constant here.
fn scan_one<const P: u32>(
    data: &[u8],
    pos: usize,
    p: &Scan,
    c: usize,
    table: &Huffman,
    out: &mut [u8],
) -> Result<usize, String> {
    let w = p.width;
    let mut prev = vec![0i32; w];
    let mut cur = vec![0i32; w];
    let mut bits = Bits::new(data, pos);
    let initial = 1i32 << (p.precision - p.point_transform - 1);
    let mut first_row = true;
    for y in 0..p.height {
        if p.restart_rows != 0 && y != 0 && y % p.restart_rows == 0 {
            bits.restart()?;
            first_row = true;
        }
        if first_row {
            let mut left = initial;
            for v in cur.iter_mut() {
                left = (left + bits.diff(table)?) & 0xFFFF;
                *v = left;
            }
        } else {
            let mut left = (prev[0] + bits.diff(table)?) & 0xFFFF;
            cur[0] = left;
            for (x, v) in cur.iter_mut().enumerate().skip(1) {
                let pred = predict::<P>(left, prev[x], prev[x - 1]);
                left = (pred + bits.diff(table)?) & 0xFFFF;
                *v = left;
            }
        }
        write_row(out, p, y, &cur, 1, 0, c);
        std::mem::swap(&mut prev, &mut cur);
        first_row = false;
    }
    bits.finish()
}

/// Stores component `c` of row `y` (values `vals[x * nc + k]`) into the interleaved output.
#[inline]
fn write_row(out: &mut [u8], p: &Scan, y: usize, vals: &[i32], nc: usize, k: usize, c: usize) {
    let w = p.width;
    let row = &mut out[y * w * p.ns * p.bytes..(y + 1) * w * p.ns * p.bytes];
    let pt = p.point_transform;
    if p.bytes == 1 {
        if p.ns == 1 {
            for (o, v) in row.iter_mut().zip(vals.iter()) {
                *o = (*v << pt) as u8;
            }
        } else {
            for x in 0..w {
                row[x * p.ns + c] = (vals[x * nc + k] << pt) as u8;
            }
        }
    } else if p.ns == 1 {
        for (o, v) in row.chunks_exact_mut(2).zip(vals.iter()) {
            o.copy_from_slice(&((*v << pt) as u16).to_le_bytes());
        }
    } else {
        for x in 0..w {
            let o = (x * p.ns + c) * 2;
            row[o..o + 2].copy_from_slice(&((vals[x * nc + k] << pt) as u16).to_le_bytes());
        }
    }
}

fn decode_scan_interleaved(
    data: &[u8],
    pos: usize,
    p: &Scan,
    scan: &[(usize, &Huffman)],
    out: &mut [u8],
) -> Result<usize, String> {
    let nc = scan.len();
    let w = p.width;
    // Rows of reduced-precision values, per scan component: previous and current.
    let mut prev = vec![0i32; w * nc];
    let mut cur = vec![0i32; w * nc];
    let mut bits = Bits::new(data, pos);
    let initial = 1i32 << (p.precision - p.point_transform - 1);
    let mut first_row = true;
    for y in 0..p.height {
        if p.restart_rows != 0 && y != 0 && y % p.restart_rows == 0 {
            bits.restart()?;
            first_row = true;
        }
        // For each x, one sample of every scan component.
        for x in 0..w {
            for (k, (_, table)) in scan.iter().enumerate() {
                let diff = bits.diff(table)?;
                let i = x * nc + k;
                let pred: i32 = if first_row {
                    if x == 0 {
                        initial
                    } else {
                        cur[i - nc]
                    }
                } else if x == 0 {
                    prev[i]
                } else {
                    let (ra, rb, rc) = (cur[i - nc], prev[i], prev[i - nc]);
                    match p.predictor {
                        1 => predict::<1>(ra, rb, rc),
                        2 => predict::<2>(ra, rb, rc),
                        3 => predict::<3>(ra, rb, rc),
                        4 => predict::<4>(ra, rb, rc),
                        5 => predict::<5>(ra, rb, rc),
                        6 => predict::<6>(ra, rb, rc),
                        _ => predict::<7>(ra, rb, rc),
                    }
                };
                cur[i] = (pred + diff) & 0xFFFF;
            }
        }
        for (k, (c, _)) in scan.iter().enumerate() {
            write_row(out, p, y, &cur, nc, k, *c);
        }
        std::mem::swap(&mut prev, &mut cur);
        first_row = false;
    }
    bits.finish()
}

#[cfg(test)]
pub(crate) mod tests;
