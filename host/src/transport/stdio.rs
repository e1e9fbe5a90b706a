//! Newline-delimited JSON-RPC over any byte stream (a child's stdin/stdout, a pipe, a socket).
//!
//! Real servers print more than JSON on stdout: log lines, banners, over-long dumps, bytes that
//! are not UTF-8. None of that is fatal here: each such line becomes [`Inbound::Noise`].
//! A line longer than the bound is never held whole: once it passes the bound the rest of it is
//! skipped as it streams by, and only a short head of it is kept for the transcript.
//!
//! `recv` is cancel-safe (the session races it against timeouts): a half-read line lives in the
//! transport, not in the future, so dropping a pending `recv` loses nothing.

use super::secrets::Secrets;
use super::{Inbound, Transport, TransportError};
use serde_json::value::RawValue;
use serde_json::Value;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

/// The default bound on one line: 16 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// How much of an over-long line is kept for the transcript.
const OVERLONG_HEAD_BYTES: usize = 256;

/// A [`Transport`] over a reader (the server's stdout) and a writer (the server's stdin).
pub struct StdioTransport<R, W> {
    reader: BufReader<R>,
    writer: Option<W>,
    max_line_bytes: usize,
    /// The current, unfinished line.
    line: Vec<u8>,
    /// Set while skipping the rest of an over-long line: how many bytes it had so far.
    overlong: Option<usize>,
    closed: Option<String>,
    /// Taken out of everything read, before the session (its transcript, logs, errors) sees it.
    secrets: Arc<Secrets>,
}

impl<R, W> StdioTransport<R, W>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    pub fn new(reader: R, writer: W, max_line_bytes: usize) -> Self {
        StdioTransport {
            reader: BufReader::with_capacity(64 * 1024, reader),
            writer: Some(writer),
            max_line_bytes: max_line_bytes.max(1),
            line: Vec::new(),
            overlong: None,
            closed: None,
            secrets: Arc::default(),
        }
    }

    /// This transport, taking `secrets` out of everything the server says.
    pub(crate) fn scrubbing(mut self, secrets: Arc<Secrets>) -> Self {
        self.secrets = secrets;
        self
    }

    /// The next thing the server said, as it said it.
    async fn recv_raw(&mut self) -> Result<Inbound, TransportError> {
        loop {
            if let Some(reason) = &self.closed {
                return Ok(Inbound::Closed {
                    reason: reason.clone(),
                });
            }
            let chunk = self.reader.fill_buf().await?;
            if chunk.is_empty() {
                self.closed = Some("the server closed its stdout".into());
                // A last line without a newline still counts.
                if !self.line.is_empty() || self.overlong.is_some() {
                    if let Some(inbound) = self.finish_line() {
                        return Ok(inbound);
                    }
                }
                continue;
            }
            let (used, complete) = take_chunk(
                &mut self.line,
                &mut self.overlong,
                self.max_line_bytes,
                chunk,
            );
            self.reader.consume(used);
            if complete {
                if let Some(inbound) = self.finish_line() {
                    return Ok(inbound);
                }
            }
        }
    }

    /// Turns one complete line into what the server said, or `None` for a blank line.
    fn finish_line(&mut self) -> Option<Inbound> {
        let bytes = std::mem::take(&mut self.line);
        if let Some(total) = self.overlong.take() {
            return Some(Inbound::DroppedLine {
                bytes: total as u64,
                bound: self.max_line_bytes,
                head: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.trim().is_empty() {
            return None;
        }
        if super::is_too_deep(text) {
            return Some(super::too_deep(text));
        }
        // Only objects and arrays (batches) can be JSON-RPC; a bare `42` is a log line.
        let body = text.trim();
        let json = serde_json::from_str::<&RawValue>(body)
            .ok()
            .filter(|_| body.starts_with(['{', '[']));
        Some(match json {
            Some(json) => Inbound::message(json),
            None => Inbound::Noise(text.to_owned()),
        })
    }
}

/// Takes bytes from the read buffer into the current line; returns how many bytes it used and
/// whether the line is complete. Past `max` bytes only a count (and a short head) is kept.
fn take_chunk(
    line: &mut Vec<u8>,
    overlong: &mut Option<usize>,
    max: usize,
    chunk: &[u8],
) -> (usize, bool) {
    let (used, complete) = match chunk.iter().position(|&b| b == b'\n') {
        Some(i) => (i + 1, true),
        None => (chunk.len(), false),
    };
    let piece = &chunk[..used];
    match overlong.as_mut() {
        Some(total) => *total += piece.len(),
        None if line.len() + piece.len() > max => {
            *overlong = Some(line.len() + piece.len());
            let room = OVERLONG_HEAD_BYTES.saturating_sub(line.len());
            line.extend_from_slice(&piece[..piece.len().min(room)]);
            line.truncate(OVERLONG_HEAD_BYTES);
        }
        None => line.extend_from_slice(piece),
    }
    (used, complete)
}

#[async_trait::async_trait]
impl<R, W> Transport for StdioTransport<R, W>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    async fn send(&mut self, message: Value) -> Result<(), TransportError> {
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| TransportError::Protocol("stdin already closed".into()))?;
        let mut bytes = serde_json::to_vec(&message).expect("a JSON value always serializes");
        bytes.push(b'\n');
        writer.write_all(&bytes).await?;
        writer.flush().await?;
        Ok(())
    }

    async fn recv(&mut self) -> Result<Inbound, TransportError> {
        let inbound = self.recv_raw().await?;
        Ok(self.secrets.scrub_inbound(inbound))
    }

    async fn close(&mut self) -> Result<(), TransportError> {
        if let Some(mut writer) = self.writer.take() {
            // The server may already be gone; a broken pipe here is not worth reporting.
            let _ = writer.shutdown().await;
        }
        Ok(())
    }

    fn kind(&self) -> super::TransportKind {
        super::TransportKind::Stdio
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn what_the_server_says_comes_out_scrubbed() {
        let env = [("API_KEY".to_owned(), "stdio-secret-4711".to_owned())];
        let secrets = Arc::new(Secrets::of_env(&env));
        let said = concat!(
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"bad stdio-secret-4711"}}"#,
            "\n",
            "log: key=stdio-secret-4711\n",
            r#"{"m":"\u0073tdio-secret-4711"}"#,
            "\n"
        );
        let read = std::io::Cursor::new(said.as_bytes().to_vec());
        let mut transport =
            StdioTransport::new(read, tokio::io::sink(), 1 << 20).scrubbing(secrets);
        let mut seen = Vec::new();
        loop {
            match transport.recv().await.unwrap() {
                Inbound::Message(json) => seen.push(json.get().to_owned()),
                Inbound::Closed { .. } => break,
                other => seen.extend(other.describe()),
            }
        }
        assert_eq!(
            seen,
            [
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"bad ***"}}"#,
                "log: key=***",
                r#"{"m":"***"}"#,
            ]
        );
    }
}
