//! The last bytes of a stream (a server's stderr), bounded.

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

/// Drains `reader` into a shared tail until EOF (logging each chunk at debug level).
pub fn drain_into(
    mut reader: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    sink: std::sync::Arc<std::sync::Mutex<Tail>>,
) -> tokio::task::JoinHandle<()> {
    use tokio::io::AsyncReadExt;
    tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        while let Ok(n @ 1..) = reader.read(&mut buf).await {
            tracing::debug!(target: "mcp_probe::stderr", "{}", String::from_utf8_lossy(&buf[..n]).trim_end());
            sink.lock().expect("tail lock").push(&buf[..n]);
        }
    })
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
}
