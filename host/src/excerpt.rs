//! Server text quoted in an error or log line: one line of at most [`EXCERPT_CHARS`]
//! characters, whatever the server sent (an 8 MiB error message, 600 000 versions).

/// Characters of server text quoted in one error or log line.
pub const EXCERPT_CHARS: usize = 200;

/// `text` on one line (runs of whitespace, newlines included, become one space), cut to
/// [`EXCERPT_CHARS`] with `…` when longer. Reads no further than it shows.
pub fn one_line(text: &str) -> String {
    let mut out = String::new();
    let mut chars = 0;
    for word in text.split_whitespace() {
        if chars > 0 {
            if chars >= EXCERPT_CHARS {
                return cut(out);
            }
            out.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars >= EXCERPT_CHARS {
                return cut(out);
            }
            out.push(c);
            chars += 1;
        }
    }
    out
}

fn cut(mut out: String) -> String {
    out.push('…');
    out
}

/// Items (versions a server lists) joined with `, ` on one line, cut like [`one_line`] and
/// then saying how many there were.
pub fn list<'a>(items: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = items.len();
    let mut out = String::new();
    let mut shown = 0;
    for item in items {
        let item = one_line(item);
        if out.chars().count() + item.chars().count() > EXCERPT_CHARS {
            break;
        }
        if shown > 0 {
            out.push_str(", ");
        }
        out.push_str(&item);
        shown += 1;
    }
    if shown < total {
        out.push_str(&format!(" … ({total} in all)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_is_one_short_line() {
        assert_eq!(one_line("Cannot\n  POST /\r\n"), "Cannot POST /");
        assert_eq!(one_line(""), "");
        let long = one_line(&"é".repeat(10_000));
        assert_eq!(long.chars().count(), EXCERPT_CHARS + 1);
        assert!(long.ends_with('…'));
        let exact = "a".repeat(EXCERPT_CHARS);
        assert_eq!(one_line(&exact), exact);
        let words = one_line(&format!("{exact} more"));
        assert_eq!(words, format!("{exact}…"));
        let lines = one_line(&"line\n".repeat(1000));
        assert!(!lines.contains('\n') && lines.chars().count() <= EXCERPT_CHARS + 1);
    }

    #[test]
    fn lists_are_cut_and_counted() {
        assert_eq!(list(["a", "b"].into_iter()), "a, b");
        let many: Vec<String> = (0..600_000).map(|i| format!("2025-{i:06}")).collect();
        let shown = list(many.iter().map(String::as_str));
        assert!(shown.len() < EXCERPT_CHARS + 40, "{shown}");
        assert!(shown.starts_with("2025-000000, 2025-000001"));
        assert!(shown.ends_with(" … (600000 in all)"));
        let one_huge = "x".repeat(1 << 20);
        assert_eq!(list([one_huge.as_str()].into_iter()), " … (1 in all)");
    }
}
