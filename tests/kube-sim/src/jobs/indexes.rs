//! Sets of completion indexes in the compact form `status.completedIndexes` uses: ordered
//! intervals written `1,3-5,7`, where two neighbours are listed (`1,2`) and three or more are a
//! range (`3-5`), as the job controller's orderedIntervals prints them.
use std::collections::BTreeSet;
use std::fmt;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Indexes(BTreeSet<u32>);

impl Indexes {
    /// Parses `status.completedIndexes`, keeping indexes below `completions` and skipping
    /// intervals that do not parse, as the controller does with a corrupted field.
    pub fn parse(text: &str, completions: u32) -> Self {
        let mut set = BTreeSet::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (first, last) = match part.split_once('-') {
                Some((a, b)) => (a.parse::<u32>(), b.parse::<u32>()),
                None => (part.parse::<u32>(), part.parse::<u32>()),
            };
            if let (Ok(first), Ok(last)) = (first, last) {
                set.extend(first..=last.min(completions.saturating_sub(1)));
            }
        }
        Indexes(set)
    }

    pub fn insert(&mut self, index: u32) -> bool {
        self.0.insert(index)
    }

    pub fn contains(&self, index: u32) -> bool {
        self.0.contains(&index)
    }

    /// How many indexes the set holds.
    pub fn total(&self) -> usize {
        self.0.len()
    }

    /// The first `count` indexes below `completions` that are neither in this set nor in
    /// `busy` (firstPendingIndexes).
    pub fn first_pending(&self, busy: &BTreeSet<u32>, count: usize, completions: u32) -> Vec<u32> {
        (0..completions)
            .filter(|i| !self.0.contains(i) && !busy.contains(i))
            .take(count)
            .collect()
    }
}

impl fmt::Display for Indexes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut runs: Vec<(u32, u32)> = Vec::new();
        for &i in &self.0 {
            match runs.last_mut() {
                Some((_, last)) if *last + 1 == i => *last = i,
                _ => runs.push((i, i)),
            }
        }
        for (n, (first, last)) in runs.iter().enumerate() {
            if n > 0 {
                f.write_str(",")?;
            }
            match last - first {
                0 => write!(f, "{first}")?,
                1 => write!(f, "{first},{last}")?,
                _ => write!(f, "{first}-{last}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[u32]) -> Indexes {
        let mut s = Indexes::default();
        for i in items {
            s.insert(*i);
        }
        s
    }

    #[test]
    fn prints_like_the_job_controller() {
        assert_eq!(set(&[]).to_string(), "");
        assert_eq!(set(&[0, 1, 2]).to_string(), "0-2");
        assert_eq!(set(&[0, 1]).to_string(), "0,1");
        assert_eq!(set(&[1, 3, 4, 5, 7]).to_string(), "1,3-5,7");
        assert_eq!(set(&[0, 1, 2, 3, 5]).to_string(), "0-3,5");
    }

    #[test]
    fn parses_its_own_form_within_completions() {
        assert_eq!(Indexes::parse("1,3-5,7", 10), set(&[1, 3, 4, 5, 7]));
        assert_eq!(Indexes::parse("0-9", 4), set(&[0, 1, 2, 3]));
        assert_eq!(Indexes::parse("x,2", 4), set(&[2]));
        assert_eq!(Indexes::parse("", 4).total(), 0);
    }

    #[test]
    fn pending_indexes_skip_done_and_busy_ones() {
        let done = set(&[0, 2]);
        let busy: BTreeSet<u32> = [1].into();
        assert_eq!(done.first_pending(&busy, 2, 6), [3, 4]);
        assert_eq!(done.first_pending(&busy, 9, 4), [3]);
        assert!(done.first_pending(&busy, 0, 6).is_empty());
    }
}
