//! Container logs: lines with the time they were written, as the kubelet's log files hold them.
//!
//! A container instance's log is kept whole, exited or not, until its pod is deleted, up to
//! [`MAX_BYTES`] of output and [`MAX_LINES`] lines; past either bound the oldest lines are
//! dropped, as from a rotated log. (A real kubelet rotates at `containerLogMaxSize`, 10 MiB by
//! default, and `kubectl logs` then shows only the newest file; the bound here is far larger so
//! that a batch container's whole output, tens of MB, stays readable after it exits.)
use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::Notify;

/// Output bytes kept per container instance.
pub const MAX_BYTES: usize = 256 * 1024 * 1024;
/// Lines kept per container instance.
pub const MAX_LINES: usize = 1_000_000;

#[derive(Clone)]
pub struct Line {
    pub time: String,
    pub bytes: Bytes,
}

#[derive(Default)]
struct State {
    lines: VecDeque<Line>,
    /// Bytes of output in `lines`.
    bytes: usize,
    dropped: usize,
    /// Unterminated output per stream (1 stdout, 2 stderr).
    partial: [Vec<u8>; 2],
    closed: bool,
}

pub struct LogBuffer {
    state: Mutex<State>,
    changed: Notify,
    max_bytes: usize,
    max_lines: usize,
}

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer::with_bounds(MAX_BYTES, MAX_LINES)
    }
}

impl LogBuffer {
    /// A buffer that keeps at most `max_bytes` of output and `max_lines` lines (the newest
    /// line always stays, however long).
    pub fn with_bounds(max_bytes: usize, max_lines: usize) -> Self {
        LogBuffer {
            state: Mutex::default(),
            changed: Notify::new(),
            max_bytes,
            max_lines: max_lines.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn append(&self, stream: u8, data: &[u8]) {
        let mut st = self.lock();
        let idx = usize::from(stream == 2);
        let mut buf = std::mem::take(&mut st.partial[idx]);
        buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(pos) = buf[start..].iter().position(|b| *b == b'\n') {
            let end = start + pos + 1;
            self.push(&mut st, buf[start..end].to_vec());
            start = end;
        }
        st.partial[idx] = buf[start..].to_vec();
        drop(st);
        self.changed.notify_waiters();
    }

    /// The instance ended: flush unterminated lines and wake followers.
    pub fn close(&self) {
        let mut st = self.lock();
        for idx in 0..2 {
            let rest = std::mem::take(&mut st.partial[idx]);
            if !rest.is_empty() {
                self.push(&mut st, rest);
            }
        }
        st.closed = true;
        drop(st);
        self.changed.notify_waiters();
    }

    /// Lines from absolute index `from` on, the next index, and whether the log is closed.
    pub fn read_from(&self, from: usize) -> (Vec<Line>, usize, bool) {
        let st = self.lock();
        let start = from.saturating_sub(st.dropped).min(st.lines.len());
        (
            st.lines.range(start..).cloned().collect(),
            st.dropped + st.lines.len(),
            st.closed,
        )
    }

    /// The last `lines` lines, cut to their last `bytes` bytes, as text.
    pub fn tail_text(&self, lines: usize, bytes: usize) -> String {
        let st = self.lock();
        let from = st.lines.len().saturating_sub(lines);
        let all: Vec<u8> = st
            .lines
            .range(from..)
            .flat_map(|l| l.bytes.iter().copied())
            .collect();
        String::from_utf8_lossy(&all[all.len().saturating_sub(bytes)..]).into_owned()
    }

    /// The absolute index of the first of the last `n` lines.
    pub fn tail_start(&self, n: usize) -> usize {
        let st = self.lock();
        st.dropped + st.lines.len().saturating_sub(n)
    }

    pub async fn wait_change(&self, from: usize) {
        let notified = self.changed.notified();
        let (lines, _, closed) = self.read_from(from);
        if lines.is_empty() && !closed {
            notified.await;
        }
    }

    fn push(&self, st: &mut State, line: Vec<u8>) {
        st.bytes += line.len();
        st.lines.push_back(Line {
            time: crate::now_rfc3339_nanos(),
            bytes: Bytes::from(line),
        });
        while st.lines.len() > self.max_lines || (st.bytes > self.max_bytes && st.lines.len() > 1) {
            let Some(old) = st.lines.pop_front() else {
                break;
            };
            st.bytes -= old.bytes.len();
            st.dropped += 1;
        }
    }
}

/// `state.terminated.message` under `terminationMessagePolicy: FallbackToLogsOnError`: a failed
/// container's last 80 lines of log, at most 2048 bytes of them, as the kubelet takes them
/// when the termination-message file is empty (it always is here).
pub fn termination_message(
    policy: Option<&str>,
    exit_code: i32,
    log: &LogBuffer,
) -> Option<String> {
    if policy != Some("FallbackToLogsOnError") || exit_code == 0 {
        return None;
    }
    Some(log.tail_text(80, 2048)).filter(|m| !m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(log: &LogBuffer) -> String {
        let (lines, _, _) = log.read_from(0);
        lines
            .iter()
            .map(|l| String::from_utf8_lossy(&l.bytes).into_owned())
            .collect()
    }

    #[test]
    fn keeps_whole_output_within_bounds_and_drops_the_oldest_past_them() {
        let log = LogBuffer::with_bounds(10, 100);
        log.append(1, b"aaaa\nbbbb\n");
        assert_eq!(text(&log), "aaaa\nbbbb\n");
        log.append(1, b"cc");
        log.append(1, b"c\n");
        // 15 bytes are over the bound: the oldest line goes, as from a rotated log.
        assert_eq!(text(&log), "bbbb\nccc\n");
        assert_eq!(log.tail_start(1), 2);
        let (rest, next, closed) = log.read_from(2);
        assert_eq!((rest.len(), next, closed), (1, 3, false));
        log.append(2, b"unterminated");
        log.close();
        assert_eq!(text(&log), "unterminated");
        assert!(log.read_from(0).2);

        let by_lines = LogBuffer::with_bounds(MAX_BYTES, 2);
        by_lines.append(1, b"1\n2\n3\n");
        assert_eq!(text(&by_lines), "2\n3\n");
    }

    #[test]
    fn default_bounds_hold_a_batch_containers_whole_output() {
        let log = LogBuffer::default();
        let line = format!("{}\n", "x".repeat(5000));
        for _ in 0..6000 {
            log.append(1, line.as_bytes());
        }
        let (lines, next, _) = log.read_from(0);
        assert_eq!((lines.len(), next), (6000, 6000));
        assert_eq!(
            lines.iter().map(|l| l.bytes.len()).sum::<usize>(),
            6000 * 5001
        );
    }
}
