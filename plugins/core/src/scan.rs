//! Finds the JSON values embedded in noisy text: log lines, Content-Length framing, SSE
//! `data:` prefixes, pretty-printed documents spread over many lines.

use serde_json::Value;

/// How much failed parsing may cost, as a multiple of the text's length, before the scan
/// gives up: bounds the time on hostile input (a long truncated document re-parsed from each
/// of its nested openings).
const WORK_FACTOR: usize = 4;
/// Truncated documents (parse ran into the end of the text) tried before the scan stops
/// trying openings inside them.
const MAX_TRUNCATED: usize = 8;

/// Every complete JSON object or array in `text`, in order, outermost first: a value found
/// is skipped whole, so its members are not reported again.
pub(crate) fn json_values(text: &str) -> Vec<Value> {
    let bytes = text.as_bytes();
    let mut values = Vec::new();
    let mut budget = WORK_FACTOR.saturating_mul(text.len()).max(1 << 16);
    let mut truncated = 0;
    let mut pos = 0;
    while let Some(offset) = bytes[pos..].iter().position(|b| *b == b'{' || *b == b'[') {
        let start = pos + offset;
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) => {
                pos = start + stream.byte_offset();
                values.push(value);
            }
            Some(Err(error)) => {
                let cost = if error.is_eof() {
                    truncated += 1;
                    text.len() - start
                } else {
                    error_offset(text, start, &error)
                };
                if truncated > MAX_TRUNCATED || cost > budget {
                    break;
                }
                budget -= cost;
                // Past serde_json's nesting limit nothing in between can parse either: every
                // opening there starts an even deeper chain. Skip it.
                let too_deep = error.to_string().starts_with("recursion limit exceeded");
                pos = if too_deep {
                    (start + cost).min(text.len())
                } else {
                    start + 1
                };
            }
            None => break,
        }
    }
    values
}

/// Roughly how far the parser read before `error`, from its line and column.
fn error_offset(text: &str, start: usize, error: &serde_json::Error) -> usize {
    let rest = &text[start..];
    let line_start: usize = rest
        .split_inclusive('\n')
        .take(error.line().saturating_sub(1))
        .map(str::len)
        .sum();
    line_start + error.column() + 1
}
