//! Walking every string of a tool's JSON, and the characters the validator calls hidden.

use serde_json::Value;

/// A step on the way to a string inside the tool's JSON.
pub(super) enum Step<'v> {
    Key(&'v str),
    Index(usize),
    /// The string is the object key itself (a property name).
    KeyItself,
}

/// Calls `visit` with each string and object key, and the path to it (rendered only on a hit).
pub(super) fn visit_strings<'v>(
    value: &'v Value,
    path: &mut Vec<Step<'v>>,
    visit: &mut impl FnMut(&[Step<'v>], &'v str),
) {
    match value {
        Value::String(s) => visit(path, s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                visit_strings(item, path, visit);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                path.push(Step::Key(key));
                path.push(Step::KeyItself);
                visit(path, key);
                path.pop();
                visit_strings(item, path, visit);
                path.pop();
            }
        }
        _ => {}
    }
}

pub(super) fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) if out.is_empty() => out.push_str(key),
            Step::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
            Step::KeyItself => out.push_str(" (key)"),
        }
    }
    out
}

/// Zero-width characters, invisible operators, BOM, Unicode tag characters, bidi overrides.
pub fn is_hidden(c: char) -> bool {
    matches!(c as u32,
        0x200B..=0x200D | 0x2060..=0x2064 | 0xFEFF | 0xE0000..=0xE007F
        | 0x202A..=0x202E | 0x2066..=0x2069)
}
