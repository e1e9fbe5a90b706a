//! Lone UTF-16 surrogates in JSON text, decoded the way JavaScript's `JSON.parse` and Python's
//! `json.loads` take them (they accept `"\ud800"`; serde_json refuses it as a `String`).
//!
//! A server's text with a lone surrogate escape must neither hide a tool (a name serde_json
//! cannot read would drop it) nor make the server unprobeable (a description no parser reads).
//! Such an escape is replaced by `\ufffd`, U+FFFD REPLACEMENT CHARACTER, which is what those
//! clients show for it; the host then flags every text holding U+FFFD.

/// `json` (valid JSON text) with every lone surrogate escape replaced by `\ufffd`; `None` when
/// it has none, the usual case, which costs one scan for backslashes.
///
/// A high surrogate (`\ud800`–`\udbff`) is lone unless the next escape is a low one
/// (`\udc00`–`\udfff`); a low surrogate is lone unless it ends such a pair. Backslashes occur
/// in valid JSON text only inside strings, so every one starts an escape.
pub fn replace_lone_surrogates(json: &str) -> Option<String> {
    let bytes = json.as_bytes();
    let mut repaired: Option<String> = None;
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = json[at..].find('\\') {
        let escape = at + found;
        if bytes.get(escape + 1) != Some(&b'u') {
            at = escape + 2;
            continue;
        }
        at = escape + 6;
        let lone = match unit_at(bytes, escape) {
            Some(0xD800..=0xDBFF) => match unit_at(bytes, escape + 6) {
                Some(0xDC00..=0xDFFF) => {
                    at = escape + 12;
                    false
                }
                _ => true,
            },
            Some(0xDC00..=0xDFFF) => true,
            _ => false,
        };
        if lone {
            let out = repaired.get_or_insert_with(|| String::with_capacity(json.len()));
            out.push_str(&json[copied..escape]);
            out.push_str("\\ufffd");
            copied = escape + 6;
        }
    }
    repaired.map(|mut out| {
        out.push_str(&json[copied..]);
        out
    })
}

/// The code unit of the `\uXXXX` escape starting at `at`, if one starts there.
fn unit_at(bytes: &[u8], at: usize) -> Option<u16> {
    let escape = bytes.get(at..at + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&escape[2..]).ok()?;
    u16::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::replace_lone_surrogates as repair;

    #[test]
    fn lone_surrogates_become_the_replacement_character() {
        let cases = [
            (
                r#"{"name":"exec_shell\ud800"}"#,
                r#"{"name":"exec_shell\ufffd"}"#,
            ),
            (r#"["\uDC00x"]"#, r#"["\ufffdx"]"#),
            (r#""\ud800\ud800\udc00""#, r#""\ufffd\ud800\udc00""#),
            (r#""\udc00\ud800""#, r#""\ufffd\ufffd""#),
            (r#""a\ud83d""#, r#""a\ufffd""#),
            (r#""\ud83d\n\ude00""#, r#""\ufffd\n\ufffd""#),
        ];
        for (sent, expected) in cases {
            assert_eq!(repair(sent).as_deref(), Some(expected), "{sent}");
            let value: String = serde_json::from_str::<serde_json::Value>(expected)
                .map(|v| v.to_string())
                .unwrap();
            assert!(value.contains('\u{fffd}'), "{value}");
        }
    }

    #[test]
    fn text_without_lone_surrogates_is_left_alone() {
        let cases = [
            r#"{"name":"echo"}"#,
            r#""\ud83d\ude00""#,
            r#""\\ud800""#,
            r#""\\\\ud800 \"\u00e9""#,
            r#""\u0041\uD83D\uDE00""#,
            "\"tail\\\\\"",
        ];
        for sent in cases {
            assert_eq!(repair(sent), None, "{sent}");
        }
    }

    #[test]
    fn the_repaired_text_reads_as_strings() {
        let sent = r#"{"name":"x\udfff","d":["\ud800",{"k\udbff":1}]}"#;
        assert!(serde_json::from_str::<serde_json::Value>(sent).is_err());
        let repaired = repair(sent).unwrap();
        let value: serde_json::Value = serde_json::from_str(&repaired).unwrap();
        assert_eq!(value["name"], "x\u{fffd}");
        assert_eq!(value["d"][1]["k\u{fffd}"], 1);
    }
}
