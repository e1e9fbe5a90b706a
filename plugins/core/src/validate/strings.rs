//! Walking every string of a tool's JSON, and the characters the validator calls hidden there.

pub use mcp_probe_types::hidden::HiddenClass;
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

/// Where a string sits, which decides whether line breaks and tabs are ordinary in it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// The tool's name, title and top-level keys: one line, so any control character is hidden.
    Line,
    /// A description or any other string value: tab, line feed and CR LF are ordinary text.
    Text,
}

impl Context {
    /// The context of the string at `path` in a tool's JSON: its `name`, `title` and its own
    /// keys are [`Context::Line`]; everything inside a member (schemas, annotations) is text.
    pub(super) fn at(path: &[Step]) -> Context {
        match path {
            [Step::Key(_), Step::KeyItself] | [Step::Key("name" | "title")] => Context::Line,
            _ => Context::Text,
        }
    }
}

/// The first hidden character of `text` ([`HiddenClass`]: C0 and C1 controls, bidi controls,
/// zero-width and tag characters), with its class. In [`Context::Text`] a tab, a line feed and
/// the CR of a CR LF are not hidden; a lone CR (which overwrites a shown line) is.
pub fn first_hidden(text: &str, context: Context) -> Option<(char, HiddenClass)> {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let Some(class) = HiddenClass::of(c) else {
            continue;
        };
        let ordinary = context == Context::Text
            && match c {
                '\t' | '\n' => true,
                '\r' => chars.peek() == Some(&'\n'),
                _ => false,
            };
        if !ordinary {
            return Some((c, class));
        }
    }
    None
}

/// Whether `text` needs no look for hidden characters: printable ASCII (and, in
/// [`Context::Text`], tabs and line feeds) or non-ASCII text without a hidden character. A CR
/// always takes the exact look.
pub fn surely_visible(text: &str, context: Context) -> bool {
    let ordinary = |b: u8| match context {
        Context::Line => (0x20..0x7F).contains(&b),
        Context::Text => (0x20..0x7F).contains(&b) || b == b'\n' || b == b'\t',
    };
    if text.is_ascii() {
        return text.bytes().all(ordinary);
    }
    first_hidden(text, context).is_none() && !text.contains('\r')
}
