//! Plain-text tables: fixed-width columns, as the listings have always printed them (scripts
//! read them; `--json` is the stable format).

/// One column: its width (0 = as wide as the value), alignment, and the gap before it.
#[derive(Clone, Copy)]
pub struct Col {
    width: usize,
    right: bool,
    gap: &'static str,
}

impl Col {
    pub const fn left(width: usize) -> Col {
        Col {
            width,
            right: false,
            gap: " ",
        }
    }

    pub const fn right(width: usize) -> Col {
        Col {
            width,
            right: true,
            gap: " ",
        }
    }

    /// The separator before this column (one space unless told).
    pub const fn after(self, gap: &'static str) -> Col {
        Col { gap, ..self }
    }
}

/// Formats one row: values padded to their column's width (longer values are kept whole).
pub fn row(cols: &[Col], values: &[&dyn std::fmt::Display]) -> String {
    let mut line = String::new();
    for (i, (c, v)) in cols.iter().zip(values).enumerate() {
        if i > 0 {
            line.push_str(c.gap);
        }
        let w = c.width;
        line.push_str(&if c.right {
            format!("{v:>w$}")
        } else {
            format!("{v:<w$}")
        });
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_pad_align_and_keep_long_values() {
        let cols = [Col::right(3), Col::left(4).after("  "), Col::left(0)];
        assert_eq!(row(&cols, &[&1, &"ab", &"x"]), "  1  ab   x");
        assert_eq!(row(&cols, &[&12345, &"abcdef", &""]), "12345  abcdef ");
    }
}
