//! The characters that control a terminal or hide text from a reader: what the validator's
//! `hidden-characters` rule flags, and what the host escapes before a terminal shows text a
//! server sent. One list, so that what the rule calls hidden is what a table never prints raw.

/// Why a character is hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiddenClass {
    /// U+0000–U+001F and DEL (U+007F): ESC starts terminal sequences (`ESC[2J`, OSC titles and
    /// links), CR and backspace overwrite what was shown, a line feed forges a line.
    Control,
    /// U+0080–U+009F: U+009B is an 8-bit CSI and U+009D an OSC on terminals that take them.
    C1Control,
    /// Bidi embeddings, overrides, isolates and marks: they reorder what is shown (Trojan Source,
    /// CVE-2021-42574).
    Bidi,
    /// Zero-width characters, invisible operators, the BOM and Unicode tag characters.
    Invisible,
}

impl HiddenClass {
    /// The class of `c`, or `None` for a character that shows as itself.
    pub fn of(c: char) -> Option<HiddenClass> {
        match c as u32 {
            0x00..=0x1F | 0x7F => Some(HiddenClass::Control),
            0x80..=0x9F => Some(HiddenClass::C1Control),
            0x061C | 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069 => Some(HiddenClass::Bidi),
            0x200B..=0x200D | 0x2060..=0x2064 | 0xFEFF | 0xE0000..=0xE007F => {
                Some(HiddenClass::Invisible)
            }
            _ => None,
        }
    }

    /// How findings name the class, e.g. "bidi control U+202E".
    pub fn as_str(self) -> &'static str {
        match self {
            HiddenClass::Control => "control character",
            HiddenClass::C1Control => "C1 control character",
            HiddenClass::Bidi => "bidi control",
            HiddenClass::Invisible => "invisible character",
        }
    }
}

/// Whether `c` is hidden (any [`HiddenClass`]).
pub fn is_hidden(c: char) -> bool {
    HiddenClass::of(c).is_some()
}

/// Whether every character of `text` shows as itself: the common case, decided on bytes when
/// the text is ASCII.
pub fn is_plain(text: &str) -> bool {
    if text.is_ascii() {
        return text.bytes().all(|b| (0x20..0x7F).contains(&b));
    }
    !text.chars().any(is_hidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_is_recognised() {
        for (c, class) in [
            ('\u{1b}', HiddenClass::Control),
            ('\u{7}', HiddenClass::Control),
            ('\n', HiddenClass::Control),
            ('\u{7f}', HiddenClass::Control),
            ('\u{9b}', HiddenClass::C1Control),
            ('\u{80}', HiddenClass::C1Control),
            ('\u{202e}', HiddenClass::Bidi),
            ('\u{2067}', HiddenClass::Bidi),
            ('\u{200f}', HiddenClass::Bidi),
            ('\u{61c}', HiddenClass::Bidi),
            ('\u{200b}', HiddenClass::Invisible),
            ('\u{e0041}', HiddenClass::Invisible),
        ] {
            assert_eq!(HiddenClass::of(c), Some(class), "{c:?}");
        }
        for c in ['a', ' ', '~', '\u{a0}', 'é', '—', '\u{2028}', '😀'] {
            assert_eq!(HiddenClass::of(c), None, "{c:?}");
        }
    }

    #[test]
    fn plain_text_has_no_hidden_character() {
        assert!(is_plain("Reads a file — naïve café"));
        assert!(!is_plain("tab\there"));
        assert!(!is_plain("a\u{202e}b"));
        assert!(!is_plain("csi\u{9b}2J"));
    }
}
