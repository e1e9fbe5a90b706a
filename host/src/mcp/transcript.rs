//! The session's record of what the server said, bounded whatever the server sends: the
//! first and the last part of its output and of its parsed messages, with counts of what was
//! dropped between them. A server that floods notifications cannot grow memory without bound.

use crate::model::Transcript;
use std::collections::VecDeque;

/// Output kept from the start, and from the end, of what the server printed.
pub const OUTPUT_WINDOW_BYTES: usize = 4 * 1024 * 1024;
/// Parsed messages kept from the start, and from the end.
pub const MESSAGE_WINDOW: usize = 256;
/// A message whose text is longer is not kept as a message: its text is in the output windows
/// already, and 2 x 256 messages of up to 16 MiB each would be gigabytes.
pub const MAX_KEPT_MESSAGE_BYTES: usize = 1024 * 1024;

/// Records lines and messages into head and tail windows.
#[derive(Debug, Default)]
pub struct Recorder {
    head: String,
    tail: VecDeque<String>,
    tail_bytes: usize,
    dropped_bytes: u64,
    dropped_lines: u64,
    head_messages: Vec<String>,
    tail_messages: VecDeque<String>,
    dropped_messages: u64,
}

impl Recorder {
    /// One line of output (a message's raw text, or noise).
    pub fn line(&mut self, text: &str) {
        if self.tail.is_empty() && self.head.len() + text.len() < OUTPUT_WINDOW_BYTES {
            self.head.push_str(text);
            self.head.push('\n');
            return;
        }
        // Only the end of a line longer than the whole window is kept.
        let start = text.len().saturating_sub(OUTPUT_WINDOW_BYTES);
        let start = (start..=text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        if start > 0 {
            self.dropped_bytes += start as u64;
        }
        self.tail_bytes += text.len() - start + 1;
        self.tail.push_back(text[start..].to_owned());
        while self.tail_bytes > OUTPUT_WINDOW_BYTES {
            let Some(old) = self.tail.pop_front() else {
                break;
            };
            self.tail_bytes -= old.len() + 1;
            self.dropped_bytes += old.len() as u64 + 1;
            self.dropped_lines += 1;
        }
    }

    /// One JSON message, as the text the server sent.
    pub fn message(&mut self, text: &str) {
        if text.len() > MAX_KEPT_MESSAGE_BYTES {
            self.dropped_messages += 1;
            return;
        }
        if self.head_messages.len() < MESSAGE_WINDOW {
            self.head_messages.push(text.to_owned());
            return;
        }
        self.tail_messages.push_back(text.to_owned());
        if self.tail_messages.len() > MESSAGE_WINDOW {
            self.tail_messages.pop_front();
            self.dropped_messages += 1;
        }
    }

    /// How much was left out, for messages (`None` when nothing was).
    pub fn dropped(&self) -> Option<String> {
        (self.dropped_bytes > 0 || self.dropped_messages > 0).then(|| {
            format!(
                "the transcript kept the first and last {} MiB of output and {MESSAGE_WINDOW} messages; \
                 {} bytes ({} lines) and {} messages between them were dropped",
                OUTPUT_WINDOW_BYTES >> 20,
                self.dropped_bytes,
                self.dropped_lines,
                self.dropped_messages
            )
        })
    }

    /// The transcript so far, with a marker line where output was dropped.
    pub fn take(&mut self) -> Transcript {
        let mut this = std::mem::take(self);
        let mut stdout = std::mem::take(&mut this.head);
        if this.dropped_bytes > 0 {
            stdout.push_str(&format!(
                "[... {} bytes ({} lines) dropped ...]\n",
                this.dropped_bytes, this.dropped_lines
            ));
        }
        for line in this.tail.drain(..) {
            stdout.push_str(&line);
            stdout.push('\n');
        }
        let mut parsed_messages = std::mem::take(&mut this.head_messages);
        parsed_messages.extend(this.tail_messages.drain(..));
        Transcript {
            stdout,
            parsed_messages,
            truncated: this.dropped_bytes > 0 || this.dropped_messages > 0,
            ..Transcript::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_huge_message_is_kept_as_text_only() {
        let mut r = Recorder::default();
        let huge = format!(
            r#"{{"id": 1, "result": "{}"}}"#,
            "x".repeat(MAX_KEPT_MESSAGE_BYTES)
        );
        r.message(&huge);
        r.message(r#"{"id": 2}"#);
        assert!(r.dropped().unwrap().contains("1 messages between them"));
        assert_eq!(r.take().parsed_messages, vec![r#"{"id": 2}"#]);
    }

    #[test]
    fn a_flood_keeps_head_and_tail_within_the_bound() {
        let mut r = Recorder::default();
        let line = "x".repeat(1000);
        for i in 0..20_000 {
            r.line(&format!("{i:05}{line}"));
            r.message(
                &json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"i": i}})
                    .to_string(),
            );
        }
        assert!(r.head.len() <= OUTPUT_WINDOW_BYTES && r.tail_bytes <= OUTPUT_WINDOW_BYTES);
        let note = r.dropped().unwrap();
        assert!(
            note.contains("messages between them were dropped"),
            "{note}"
        );
        let t = r.take();
        assert!(t.stdout.starts_with("00000x"));
        assert!(t
            .stdout
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("19999x"));
        assert!(t.stdout.contains("bytes (") && t.stdout.contains("dropped ...]"));
        assert!(t.stdout.len() <= 2 * OUTPUT_WINDOW_BYTES + 100);
        assert_eq!(t.parsed_messages.len(), 2 * MESSAGE_WINDOW);
        let i_of = |text: &str| {
            serde_json::from_str::<serde_json::Value>(text).unwrap()["params"]["i"].clone()
        };
        assert_eq!(i_of(&t.parsed_messages[0]), 0);
        assert_eq!(i_of(t.parsed_messages.last().unwrap()), 19_999);
    }

    #[test]
    fn a_quiet_server_is_kept_whole() {
        let mut r = Recorder::default();
        r.line("a");
        r.message(r#"{"id": 1}"#);
        assert!(r.dropped().is_none());
        let t = r.take();
        assert_eq!(t.stdout, "a\n");
        assert_eq!(t.parsed_messages, vec![r#"{"id": 1}"#]);
    }
}
