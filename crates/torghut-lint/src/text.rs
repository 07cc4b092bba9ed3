//! Byte offsets to 1-based line and column numbers, and statement excerpts.

/// Longest excerpt kept in a finding, in characters (an ellipsis marks a cut).
const EXCERPT_CHARS: usize = 120;

/// Line starts of a text, for turning byte offsets into positions.
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { text, starts }
    }

    /// The 1-based line and column (in characters) of a byte offset. Offsets past the end or
    /// inside a multi-byte character are moved back to the nearest character start.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_boundary(self.text, offset);
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        (line, column)
    }
}

/// The largest character boundary of `text` that is not after `offset`.
pub(crate) fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// `text[start..end]` with whitespace runs collapsed to one space, cut to a readable length.
pub(crate) fn excerpt(text: &str, start: usize, end: usize) -> String {
    let start = floor_boundary(text, start);
    let end = floor_boundary(text, end).max(start);
    let mut out = String::new();
    let mut chars = 0;
    for word in text[start..end].split_whitespace() {
        if chars > 0 {
            out.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars >= EXCERPT_CHARS {
                out.push('…');
                return out;
            }
            out.push(c);
            chars += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "ab\nçd\n\nx";
        let lines = Lines::new(text);
        assert_eq!(lines.line_col(0), (1, 1));
        assert_eq!(lines.line_col(2), (1, 3));
        assert_eq!(lines.line_col(3), (2, 1));
        // 'd' follows the two-byte 'ç'
        assert_eq!(lines.line_col(5), (2, 2));
        // inside 'ç': moved back to its start
        assert_eq!(lines.line_col(4), (2, 1));
        assert_eq!(lines.line_col(7), (3, 1));
        assert_eq!(lines.line_col(8), (4, 1));
        assert_eq!(lines.line_col(1000), (4, 2));
    }

    #[test]
    fn excerpts_collapse_whitespace_and_truncate() {
        assert_eq!(
            excerpt("ALTER TABLE t\n   ADD COLUMN c int;", 0, 100),
            "ALTER TABLE t ADD COLUMN c int;"
        );
        let long = "x ".repeat(200);
        let e = excerpt(&long, 0, long.len());
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt("é", 1, 0), "");
    }
}
