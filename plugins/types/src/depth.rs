//! How deeply JSON text nests, checked on the bytes: a `RawValue` skips values without a
//! recursion limit, but text kept as one must still be readable into a `Value` later (a
//! member a rule parses, the canonical form a pin hashes).

/// The nesting serde_json refuses to read into a `Value`: its recursion limit counts down
/// from this and refuses the level that reaches zero, so 127 levels are read and 128 are not.
pub const MAX_JSON_DEPTH: usize = 128;

/// True when `text` nests arrays and objects [`MAX_JSON_DEPTH`] levels deep or more (what
/// serde_json refuses as "recursion limit exceeded"). One pass, no allocation; brackets inside
/// strings do not count.
pub fn is_too_deep(text: &str) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in text.as_bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth >= MAX_JSON_DEPTH {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn agrees_with_serde_json_at_the_bound() {
        for levels in [1, 126, 127, 128, 129, 400] {
            let text = nested(levels);
            let readable = serde_json::from_str::<serde_json::Value>(&text).is_ok();
            assert_eq!(is_too_deep(&text), !readable, "{levels} levels");
        }
        // Objects count as arrays do; siblings do not add up.
        let objects = format!("{}1{}", "{\"a\":".repeat(127), "}".repeat(127));
        assert!(!is_too_deep(&objects));
        assert!(serde_json::from_str::<serde_json::Value>(&objects).is_ok());
        let siblings = format!("[{}]", vec![nested(100); 50].join(","));
        assert!(!is_too_deep(&siblings));
    }

    #[test]
    fn brackets_in_strings_and_escaped_quotes_do_not_count() {
        let inside = format!(r#"{{"a":"{}\"{}"}}"#, "[".repeat(300), "{".repeat(300));
        assert!(!is_too_deep(&inside));
        let after_escape = format!(r#"["\\",{}]"#, nested(200));
        assert!(is_too_deep(&after_escape));
        // A string's closing quote ends it: brackets after it count again.
        let after_string = format!(r#"["]]]]",{}]"#, nested(127));
        assert!(is_too_deep(&after_string));
    }
}
