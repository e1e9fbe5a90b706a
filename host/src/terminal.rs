//! Text for a person's terminal: what a server sent (tool names, descriptions, its stderr, its
//! error messages) is shown with every control character, bidi control and invisible character
//! escaped visibly (`\x1b`, `\n`, `\u{202e}`), so a server can neither drive the terminal
//! (`ESC[2J`, OSC titles and links, 8-bit CSI), forge a table row or log line, nor reorder or
//! hide what a reviewer reads. The characters are the ones the `hidden-characters` rule flags
//! (`mcp_probe_types::hidden`). JSON, YAML and SARIF are data and keep the text exact.
//!
//! Escapes follow Rust's string literal syntax; a backslash the text holds is shown as itself
//! (the JSON output is the exact record).

use mcp_probe_types::hidden::{is_hidden, is_plain};
use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every hidden character escaped: safe to print in one cell or line.
pub fn safe(text: &str) -> Cow<'_, str> {
    if is_plain(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// [`safe`] for a message that is one line by convention (the final error, a finding): line
/// breaks become spaces, the rest is escaped.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if is_plain(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            c => push_escaped(&mut out, c),
        }
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    if !is_hidden(c) {
        out.push(c);
        return;
    }
    let _ = match c {
        '\n' => write!(out, "\\n"),
        '\r' => write!(out, "\\r"),
        '\t' => write!(out, "\\t"),
        '\0'..='\x7f' => write!(out, "\\x{:02x}", c as u32),
        _ => write!(out, "\\u{{{:x}}}", c as u32),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_as_it_is() {
        for text in ["read_file", "Reads a file — naïve café", "C:\\path", ""] {
            assert!(matches!(safe(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn every_hidden_class_is_escaped_visibly() {
        for (raw, shown) in [
            ("a\u{1b}[2Jb", "a\\x1b[2Jb"),
            ("\u{1b}]0;title\u{7}", "\\x1b]0;title\\x07"),
            ("\u{1b}]8;;http://e/\u{1b}\\x", "\\x1b]8;;http://e/\\x1b\\x"),
            ("row\nforged\r\t", "row\\nforged\\r\\t"),
            ("back\u{8}\u{7f}", "back\\x08\\x7f"),
            ("csi\u{9b}2J\u{85}", "csi\\u{9b}2J\\u{85}"),
            (
                "abc\u{202e}exe\u{2066}\u{200f}\u{61c}",
                "abc\\u{202e}exe\\u{2066}\\u{200f}\\u{61c}",
            ),
            (
                "zero\u{200b}\u{feff}\u{e0041}",
                "zero\\u{200b}\\u{feff}\\u{e0041}",
            ),
        ] {
            assert_eq!(safe(raw), shown, "{raw:?}");
        }
    }

    #[test]
    fn one_line_turns_line_breaks_into_spaces_and_escapes_the_rest() {
        assert_eq!(one_line("a\r\nb\n\u{1b}[2K"), "a  b \\x1b[2K");
        assert_eq!(one_line("tab\there"), "tab\\there");
    }
}
