//! A byte-level parser for `text/event-stream` (the WHATWG server-sent events format).
//!
//! Hand-written rather than taken from a crate because a probe faces hostile servers: lines may
//! end in CR, LF or CRLF split across chunks, bytes may be invalid UTF-8 (decoded lossily, never
//! fatal), and an event may be unbounded (cut at `max_event_bytes`, the rest skipped without
//! being buffered).

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, `message` when absent.
    pub event: String,
    /// The `data:` lines joined by `\n`. When `oversized`, only the first bytes are kept.
    pub data: String,
    /// The last `id:` seen on the stream so far (ids persist across events, as in the spec).
    pub id: Option<String>,
    /// The event was larger than the bound; `data` is an excerpt.
    pub oversized: bool,
}

/// The UTF-8 byte order mark, which the spec lets a stream start with.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Bytes kept of an oversized event, for the transcript.
const OVERSIZED_EXCERPT: usize = 256;

#[derive(Debug)]
pub struct SseParser {
    max_event_bytes: usize,
    /// The current, unfinished line.
    line: Vec<u8>,
    /// The previous chunk ended in CR: a leading LF in the next chunk belongs to it.
    after_cr: bool,
    /// The current line outgrew the bound; its bytes are dropped until the line ends.
    skipping_line: bool,
    data: Vec<u8>,
    event: Option<String>,
    last_id: Option<String>,
    oversized: bool,
    /// The last `retry:` value, in milliseconds.
    retry_ms: Option<u64>,
    /// A line was completed already: only the first may start with a byte order mark.
    seen_line: bool,
}

impl SseParser {
    pub fn new(max_event_bytes: usize) -> Self {
        SseParser {
            max_event_bytes,
            line: Vec::new(),
            after_cr: false,
            skipping_line: false,
            data: Vec::new(),
            event: None,
            last_id: None,
            oversized: false,
            retry_ms: None,
            seen_line: false,
        }
    }

    /// The reconnection delay the server asked for, if any.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// The last event id seen, for `Last-Event-ID` on reconnection.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// A parser for the stream that resumes this one: it keeps the last event id and the retry
    /// delay, and drops any half-read line or event.
    pub fn resumed(&self) -> SseParser {
        SseParser {
            last_id: self.last_id.clone(),
            retry_ms: self.retry_ms,
            ..SseParser::new(self.max_event_bytes)
        }
    }

    /// Feeds a chunk; returns the events it completed.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while let Some(end) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.push_line_bytes(&chunk[..end]);
            let terminator_len = if chunk[end] == b'\r' {
                match chunk.get(end + 1) {
                    Some(b'\n') => 2,
                    Some(_) => 1,
                    None => {
                        self.after_cr = true;
                        1
                    }
                }
            } else {
                1
            };
            chunk = &chunk[end + terminator_len..];
            let mut line = std::mem::take(&mut self.line);
            if !std::mem::replace(&mut self.seen_line, true) && line.starts_with(BOM) {
                line.drain(..BOM.len());
            }
            let skipped = std::mem::replace(&mut self.skipping_line, false);
            if !skipped {
                if let Some(event) = self.process_line(&line) {
                    events.push(event);
                }
            }
        }
        self.push_line_bytes(chunk);
        events
    }

    /// The text of an event left unfinished when the stream ended (the spec discards it; the
    /// transcript keeps it).
    pub fn unfinished(&self) -> Option<String> {
        let mut text = String::from_utf8_lossy(&self.data).into_owned();
        text.push_str(&String::from_utf8_lossy(&self.line));
        (!text.trim().is_empty()).then_some(text)
    }

    fn push_line_bytes(&mut self, bytes: &[u8]) {
        if self.skipping_line {
            return;
        }
        if self.line.len() + bytes.len() > self.max_event_bytes {
            let room = OVERSIZED_EXCERPT.saturating_sub(self.data.len());
            if self.data.len() < OVERSIZED_EXCERPT {
                let mut taken = self.line.clone();
                taken.extend_from_slice(bytes);
                taken.truncate(room);
                self.data.extend_from_slice(&taken);
            }
            self.line.clear();
            self.skipping_line = true;
            self.oversized = true;
        } else {
            self.line.extend_from_slice(bytes);
        }
    }

    fn process_line(&mut self, line: &[u8]) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line[0] == b':' {
            return None;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.oversized {
                    return None;
                }
                if self.data.len() + value.len() + 1 > self.max_event_bytes {
                    self.oversized = true;
                    self.data.truncate(OVERSIZED_EXCERPT);
                } else {
                    // As the spec says: append the value and a LF; dispatch strips the last LF.
                    self.data.extend_from_slice(value);
                    self.data.push(b'\n');
                }
            }
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            b"id" if !value.contains(&0) => {
                self.last_id = Some(String::from_utf8_lossy(value).into_owned())
            }
            b"retry" => {
                if let Ok(ms) = std::str::from_utf8(value).unwrap_or("").parse::<u64>() {
                    self.retry_ms = Some(ms);
                }
            }
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        let oversized = std::mem::replace(&mut self.oversized, false);
        let mut data = std::mem::take(&mut self.data);
        if data.is_empty() && !oversized {
            return None;
        }
        if !oversized && data.last() == Some(&b'\n') {
            data.pop();
        }
        Some(SseEvent {
            event: event.unwrap_or_else(|| "message".to_owned()),
            data: String::from_utf8_lossy(&data).into_owned(),
            id: self.last_id.clone(),
            oversized,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_chunks(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::new(1024);
        chunks.iter().flat_map(|c| parser.feed(c)).collect()
    }

    fn datas(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn joins_multi_line_data_and_skips_comments() {
        let events = parse_in_chunks(&[b": keep-alive\ndata: {\"a\":\ndata:1}\n\n"]);
        assert_eq!(datas(&events), ["{\"a\":\n1}"]);
        assert_eq!(events[0].event, "message");
    }

    #[test]
    fn handles_crlf_and_cr_split_across_chunks() {
        let events =
            parse_in_chunks(&[b"data: one\r", b"\n\r", b"\ndata: two\r\r", b"data: x\n\n"]);
        assert_eq!(datas(&events), ["one", "two", "x"]);
    }

    #[test]
    fn keeps_event_type_and_sticky_id() {
        let events =
            parse_in_chunks(&[b"event: endpoint\nid: 7\ndata: /messages?s=1\n\ndata: m\n\n"]);
        assert_eq!(events[0].event, "endpoint");
        assert_eq!(events[0].id.as_deref(), Some("7"));
        assert_eq!(events[1].event, "message");
        assert_eq!(events[1].id.as_deref(), Some("7"));
    }

    #[test]
    fn priming_event_without_data_sets_id_and_retry_but_is_not_dispatched() {
        let mut parser = SseParser::new(1024);
        let events = parser.feed(b"id: e-1\nretry: 2000\n\n");
        assert!(events.is_empty());
        assert_eq!(parser.last_event_id(), Some("e-1"));
        assert_eq!(parser.retry_ms(), Some(2000));
    }

    #[test]
    fn a_field_without_colon_and_a_value_without_space() {
        let events = parse_in_chunks(&[b"data\ndata:x\n\n"]);
        assert_eq!(datas(&events), ["\nx"]);
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped_even_when_split() {
        let events = parse_in_chunks(&[b"\xEF\xBB", b"\xBFdata: x\n\n"]);
        assert_eq!(datas(&events), ["x"]);
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily() {
        let events = parse_in_chunks(&[b"data: a\xff\xfeb\n\n"]);
        assert_eq!(datas(&events), ["a\u{fffd}\u{fffd}b"]);
    }

    #[test]
    fn an_oversized_event_is_cut_and_the_stream_goes_on() {
        let mut parser = SseParser::new(64);
        let mut events = parser.feed(b"data: ");
        for _ in 0..100 {
            events.extend(parser.feed(&[b'x'; 50]));
        }
        events.extend(parser.feed(b"\n\ndata: small\n\n"));
        assert_eq!(events.len(), 2);
        assert!(events[0].oversized);
        assert!(events[0].data.len() <= OVERSIZED_EXCERPT);
        assert!(events[0].data.starts_with("data: xxx"));
        assert_eq!(events[1].data, "small");
        assert!(!events[1].oversized);
    }

    #[test]
    fn many_data_lines_past_the_bound_are_cut() {
        let mut parser = SseParser::new(64);
        let mut events = Vec::new();
        for _ in 0..20 {
            events.extend(parser.feed(b"data: 0123456789\n"));
        }
        events.extend(parser.feed(b"\n"));
        assert_eq!(events.len(), 1);
        assert!(events[0].oversized);
    }

    #[test]
    fn unfinished_event_is_reported() {
        let mut parser = SseParser::new(1024);
        assert!(parser.feed(b"data: half").is_empty());
        assert_eq!(parser.unfinished().as_deref(), Some("data: half"));
    }
}
