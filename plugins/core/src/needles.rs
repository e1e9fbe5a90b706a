//! Which of a few short needles occur in a text, ASCII case ignored, in one pass.
//!
//! Each three-byte window is looked up in a 64 Kibit table of the needles' first three bytes
//! and only a hit is compared in full. That is fast without SIMD, which matters in the guest:
//! wasm32 has no vectorized substring search, and the validator runs this over all the text
//! of every tool (a dozen `str::contains` calls per tool cost it several times more).

/// The needles, at most 64 (a found set is a `u64` bit mask, bit i for needle i).
#[derive(Debug, Clone)]
pub struct NeedleSet {
    needles: Vec<&'static str>,
    /// Each needle's window key (see [`window_key`]), by position.
    keys: Vec<u32>,
    /// Bit `window_key(first three bytes)` is set for each needle.
    windows: Box<[u64; TABLE_WORDS]>,
}

/// What one pass over a text found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Found {
    /// The needles that occur, as a bit mask.
    pub needles: u64,
    /// Whether the text holds a backslash (in JSON text: an escape, maybe a `\u` one).
    pub backslash: bool,
}

const TABLE_BITS: u32 = 1 << 16;
const TABLE_WORDS: usize = (TABLE_BITS / 64) as usize;

/// The filter key of a three-byte window packed into the low bytes of `window`. `| 0x20`
/// folds ASCII upper case onto lower case (and a few punctuation marks onto others, which
/// only costs a full comparison now and then).
fn window_key(window: u32) -> u32 {
    ((window | 0x20_2020) & 0xFF_FFFF).wrapping_mul(0x9E37_79B1) >> 16
}

fn pack(b: &[u8]) -> u32 {
    u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2])
}

/// The table word holding bit `key` (the mask keeps the index provably in bounds).
fn word(key: u32) -> usize {
    (key / 64) as usize & (TABLE_WORDS - 1)
}

impl NeedleSet {
    /// The needles with window key `key` that really start at `start`.
    #[cold]
    fn confirm(&self, bytes: &[u8], start: usize, key: u32) -> u64 {
        let mut found = 0;
        for (bit, (needle, _)) in self
            .needles
            .iter()
            .zip(&self.keys)
            .enumerate()
            .filter(|(_, (_, k))| **k == key)
        {
            let candidate = bytes.get(start..start + needle.len());
            if candidate.is_some_and(|c| c.eq_ignore_ascii_case(needle.as_bytes())) {
                found |= 1 << bit;
            }
        }
        found
    }

    /// `needles` must be lower case, at least three bytes long, and at most 64.
    pub fn new(needles: Vec<&'static str>) -> Self {
        assert!(needles.len() <= 64, "found sets are u64 masks");
        let mut windows = Box::new([0u64; TABLE_WORDS]);
        let mut keys = Vec::with_capacity(needles.len());
        for needle in &needles {
            let b = needle.as_bytes();
            assert!(
                b.len() >= 3 && *needle == needle.to_ascii_lowercase(),
                "{needle}"
            );
            let key = window_key(pack(b));
            windows[word(key)] |= 1 << (key % 64);
            keys.push(key);
        }
        NeedleSet {
            needles,
            keys,
            windows,
        }
    }

    /// The bit for `needle`; panics for a needle not in the set.
    pub fn bit(&self, needle: &str) -> u64 {
        let i = self.needles.iter().position(|n| *n == needle);
        1 << i.expect("a needle of the set")
    }

    /// The needles that occur in `text`, as a bit mask.
    pub fn found_in(&self, text: &str) -> u64 {
        self.scan(text).needles
    }

    /// One pass over `text`: the needles in it, and whether it holds a backslash.
    pub fn scan(&self, text: &str) -> Found {
        let bytes = text.as_bytes();
        let mut found = Found::default();
        let mut window = 0u32;
        let mut backslash = 0u8;
        // Prime the window with the first two bytes; the loop then ends a window at each byte.
        for &byte in bytes.iter().take(2) {
            backslash |= u8::from(byte == b'\\');
            window = window << 8 | u32::from(byte);
        }
        for (end, &byte) in bytes.iter().enumerate().skip(2) {
            backslash |= u8::from(byte == b'\\');
            window = window << 8 | u32::from(byte);
            let key = window_key(window);
            if self.windows[word(key)] & (1 << (key % 64)) != 0 {
                found.needles |= self.confirm(bytes, end - 2, key);
            }
        }
        found.backslash = backslash != 0;
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_needles_anywhere_in_any_ascii_case() {
        let set = NeedleSet::new(vec!["ignore", "not", "important>"]);
        let all = set.bit("ignore") | set.bit("not") | set.bit("important>");
        assert_eq!(set.found_in("Do NOT ignore this <IMPORTANT>"), all);
        assert_eq!(
            set.found_in("notignore"),
            set.bit("ignore") | set.bit("not")
        );
        assert_eq!(set.found_in("no"), 0);
        assert_eq!(set.found_in("ignor not"), set.bit("not"));
        assert_eq!(set.found_in("ünïcode ÏGNORE ignore"), set.bit("ignore"));
        assert_eq!(set.found_in(""), 0);
        assert!(set.scan(r"a\u0041").backslash);
        assert!(!set.scan("plain").backslash);
    }

    #[test]
    fn agrees_with_contains_on_every_window() {
        let needles = vec!["user", "tell", "secret>", "inst]", "<<sys>>", "im_start"];
        let set = NeedleSet::new(needles.clone());
        let text = "Please <<SYS>> tell the USER; [inst] IM_START secret>x";
        for start in 0..text.len() {
            for end in start..=text.len() {
                let Some(slice) = text.get(start..end) else {
                    continue;
                };
                let lowered = slice.to_ascii_lowercase();
                let expected = needles
                    .iter()
                    .filter(|n| lowered.contains(*n))
                    .fold(0, |m, n| m | set.bit(n));
                assert_eq!(set.found_in(slice), expected, "{slice:?}");
            }
        }
    }
}
