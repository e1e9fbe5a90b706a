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
    /// Bit `window_key(first three bytes)` is set for each needle.
    windows: Box<[u64]>,
}

const TABLE_BITS: usize = 1 << 16;

fn window_key(a: u8, b: u8, c: u8) -> usize {
    let [a, b, c] = [a, b, c].map(|x| x.to_ascii_lowercase() as usize);
    (a * 961 + b * 31 + c) % TABLE_BITS
}

impl NeedleSet {
    /// `needles` must be lower case, at least three bytes long, and at most 64.
    pub fn new(needles: Vec<&'static str>) -> Self {
        assert!(needles.len() <= 64, "found sets are u64 masks");
        let mut windows = vec![0u64; TABLE_BITS / 64].into_boxed_slice();
        for needle in &needles {
            let b = needle.as_bytes();
            assert!(
                b.len() >= 3 && *needle == needle.to_ascii_lowercase(),
                "{needle}"
            );
            let key = window_key(b[0], b[1], b[2]);
            windows[key / 64] |= 1 << (key % 64);
        }
        NeedleSet { needles, windows }
    }

    /// The bit for `needle`; panics for a needle not in the set.
    pub fn bit(&self, needle: &str) -> u64 {
        let i = self.needles.iter().position(|n| *n == needle);
        1 << i.expect("a needle of the set")
    }

    /// The needles that occur in `text`, as a bit mask.
    pub fn found_in(&self, text: &str) -> u64 {
        let bytes = text.as_bytes();
        let mut found = 0;
        for (i, w) in bytes.windows(3).enumerate() {
            let key = window_key(w[0], w[1], w[2]);
            if self.windows[key / 64] & (1 << (key % 64)) == 0 {
                continue;
            }
            for (bit, needle) in self.needles.iter().enumerate() {
                let candidate = bytes.get(i..i + needle.len());
                if candidate.is_some_and(|c| c.eq_ignore_ascii_case(needle.as_bytes())) {
                    found |= 1 << bit;
                }
            }
        }
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
