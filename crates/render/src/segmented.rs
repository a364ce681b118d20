//! Segmented Palette Color LUT Data (0028,1221–1223), PS3.3 C.7.9.2: the palette as a list of
//! segments — discrete values, linear ramps from the previous value, and indirect copies of
//! earlier segments — expanded into the entries the descriptor declares.

/// Indirect segments may point at indirect segments; real palettes nest once at most.
const MAX_DEPTH: usize = 4;

/// The expanded entries (at most `n`), or `None` when the segments do not parse.
pub fn expand(words: &[u16], n: usize) -> Option<Vec<u16>> {
    let mut out = Vec::with_capacity(n);
    segments(words, usize::MAX, n, 0, &mut out)?;
    if out.is_empty() {
        return None;
    }
    // A list one entry short or long of the descriptor is common: pad with the last value.
    let last = *out.last()?;
    out.resize(n, last);
    Some(out)
}

/// Appends up to `count` segments of `words` to `out`, stopping at `n` entries.
fn segments(words: &[u16], count: usize, n: usize, depth: usize, out: &mut Vec<u16>) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut i = 0;
    let mut done = 0;
    while i < words.len() && done < count && out.len() < n {
        let op = words[i];
        let len = usize::from(*words.get(i + 1)?);
        match op {
            // C.7.9.2.1 discrete: `len` values follow.
            0 => {
                let vals = words.get(i + 2..i + 2 + len)?;
                out.extend_from_slice(&vals[..vals.len().min(n - out.len())]);
                i += 2 + len;
            }
            // C.7.9.2.2 linear: from the previous entry to y1 in `len` steps.
            1 => {
                let y0 = f64::from(*out.last()?);
                let y1 = f64::from(*words.get(i + 2)?);
                for k in 1..=len.min(n - out.len()) {
                    let y = y0 + (y1 - y0) * k as f64 / len as f64;
                    out.push(y.round() as u16);
                }
                i += 3;
            }
            // C.7.9.2.3 indirect: `len` segments copied from a word offset (32 bits, low
            // word first) into the same data.
            2 => {
                let lo = u32::from(*words.get(i + 2)?);
                let hi = u32::from(*words.get(i + 3)?);
                let offset = usize::try_from(lo | (hi << 16)).ok()?;
                if offset >= i {
                    return None; // only earlier segments: a loop otherwise
                }
                segments(&words[offset..], len, n, depth + 1, out)?;
                i += 4;
            }
            _ => return None,
        }
        done += 1;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discrete_linear_indirect() {
        // 0 0 | ramp to 100 in 4 | 100 again via copy of segment 0? (copies "0 0" → 0 0).
        let w = [0, 2, 0, 0, 1, 4, 100, 2, 1, 0, 0];
        assert_eq!(expand(&w, 8).unwrap(), vec![0, 0, 25, 50, 75, 100, 0, 0]);
        // Padded to the descriptor's count, truncated past it.
        assert_eq!(expand(&[0, 1, 7], 3).unwrap(), vec![7, 7, 7]);
        assert_eq!(expand(&[0, 3, 1, 2, 3], 2).unwrap(), vec![1, 2]);
        // A linear segment needs a previous value; unknown opcodes and loops are refused.
        assert!(expand(&[1, 2, 5], 4).is_none());
        assert!(expand(&[9, 1, 1], 4).is_none());
        assert!(expand(&[0, 1, 1, 2, 1, 4, 0], 4).is_none());
    }
}
