//! The last bytes of a stream (a server's stderr), bounded.

use crate::transport::secrets::Secrets;
use std::sync::Arc;

/// How much of a server's stderr or log is kept (its end).
pub const TAIL_BYTES: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct Tail {
    bytes: Vec<u8>,
}

impl Tail {
    pub fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        // Trim in bulk (at twice the bound) so that pushing stays linear.
        if self.bytes.len() > 2 * TAIL_BYTES {
            let cut = self.bytes.len() - TAIL_BYTES;
            self.bytes.drain(..cut);
        }
    }

    pub fn text(&self) -> String {
        let start = self.bytes.len().saturating_sub(TAIL_BYTES);
        String::from_utf8_lossy(&self.bytes[start..]).into_owned()
    }
}

/// Drains `reader` into a shared tail until EOF, logging each line at debug level with
/// `secrets` taken out (whole lines: a secret split over two reads is still one line).
pub fn drain_into(
    mut reader: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    sink: Arc<std::sync::Mutex<Tail>>,
    secrets: Arc<Secrets>,
) -> tokio::task::JoinHandle<()> {
    use tokio::io::AsyncReadExt;
    tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        let mut lines = LogLines::default();
        while let Ok(n @ 1..) = reader.read(&mut buf).await {
            sink.lock().expect("tail lock").push(&buf[..n]);
            lines.push(&buf[..n], |line| log_line(line, &secrets));
        }
        lines.finish(|line| log_line(line, &secrets));
    })
}

fn log_line(line: &[u8], secrets: &Secrets) {
    let text = String::from_utf8_lossy(line);
    let text = crate::excerpt::one_line(&secrets.scrub(&text));
    tracing::debug!(target: "mcp_probe::stderr", "{text}");
}

/// Splits a stream into lines for the log; a line is held up to [`TAIL_BYTES`], the rest of
/// a longer one skipped (only its head is shown).
#[derive(Default)]
struct LogLines {
    line: Vec<u8>,
    skipping: bool,
}

impl LogLines {
    fn push(&mut self, mut chunk: &[u8], mut emit: impl FnMut(&[u8])) {
        while let Some(at) = chunk.iter().position(|&b| b == b'\n') {
            self.take(&chunk[..at]);
            if !self.line.is_empty() {
                emit(&self.line);
            }
            self.line.clear();
            self.skipping = false;
            chunk = &chunk[at + 1..];
        }
        self.take(chunk);
    }

    fn take(&mut self, piece: &[u8]) {
        if self.skipping {
            return;
        }
        let room = TAIL_BYTES - self.line.len();
        self.line.extend_from_slice(&piece[..piece.len().min(room)]);
        self.skipping = self.line.len() == TAIL_BYTES;
    }

    fn finish(self, mut emit: impl FnMut(&[u8])) {
        if !self.line.is_empty() {
            emit(&self.line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end() {
        let mut tail = Tail::default();
        for i in 0..(3 * TAIL_BYTES / 10) {
            tail.push(format!("{:09}\n", i).as_bytes());
        }
        let text = tail.text();
        assert_eq!(text.len(), TAIL_BYTES);
        assert!(text.ends_with(&format!("{:09}\n", 3 * TAIL_BYTES / 10 - 1)));
    }

    #[test]
    fn log_lines_are_whole_lines_however_the_reads_split_them() {
        let mut lines = LogLines::default();
        let mut seen = Vec::new();
        for chunk in [
            &b"the key is hun"[..],
            b"ter2-secret\npartial ",
            b"line\n\nlast",
        ] {
            lines.push(chunk, |l| {
                seen.push(String::from_utf8_lossy(l).into_owned())
            });
        }
        lines.finish(|l| seen.push(String::from_utf8_lossy(l).into_owned()));
        assert_eq!(seen, ["the key is hunter2-secret", "partial line", "last"]);
        // An endless line is held to the bound, and the next one starts fresh.
        let mut lines = LogLines::default();
        let mut sizes = Vec::new();
        let big = vec![b'x'; 3 * TAIL_BYTES];
        lines.push(&big, |l| sizes.push(l.len()));
        lines.push(b"\nok\n", |l| sizes.push(l.len()));
        assert_eq!(sizes, [TAIL_BYTES, 2]);
    }
}
