//! Container logs: lines with the time they were written, as the kubelet's log files hold them.
use std::sync::Mutex;

use tokio::sync::Notify;

/// Lines kept per container instance; older lines are dropped like a rotated log.
const MAX_LINES: usize = 100_000;

#[derive(Clone)]
pub struct Line {
    pub time: String,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
struct State {
    lines: Vec<Line>,
    dropped: usize,
    /// Unterminated output per stream (1 stdout, 2 stderr).
    partial: [Vec<u8>; 2],
    closed: bool,
}

#[derive(Default)]
pub struct LogBuffer {
    state: Mutex<State>,
    changed: Notify,
}

impl LogBuffer {
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
            push(&mut st, buf[start..end].to_vec());
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
                push(&mut st, rest);
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
            st.lines[start..].to_vec(),
            st.dropped + st.lines.len(),
            st.closed,
        )
    }

    /// The last `lines` lines, cut to their last `bytes` bytes, as text.
    pub fn tail_text(&self, lines: usize, bytes: usize) -> String {
        let st = self.lock();
        let from = st.lines.len().saturating_sub(lines);
        let all: Vec<u8> = st.lines[from..]
            .iter()
            .flat_map(|l| l.bytes.clone())
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

fn push(st: &mut State, line: Vec<u8>) {
    if st.lines.len() == MAX_LINES {
        st.lines.remove(0);
        st.dropped += 1;
    }
    st.lines.push(Line {
        time: crate::now_rfc3339_nanos(),
        bytes: line,
    });
}
