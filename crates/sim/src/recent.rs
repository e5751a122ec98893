//! A log that keeps only its newest entries, so that a simulator running for days (inside the kasse
//! server, under a benchmark) keeps what tests and demos look at without growing without end.

use std::collections::VecDeque;

/// The last `capacity` entries pushed, oldest first.
#[derive(Debug, Clone)]
pub struct Recent<T> {
    entries: VecDeque<T>,
    capacity: usize,
}

impl<T> Recent<T> {
    /// An empty log that keeps at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self { entries: VecDeque::new(), capacity }
    }

    /// Appends `entry`, forgetting the oldest one when full.
    pub fn push(&mut self, entry: T) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        if self.capacity > 0 {
            self.entries.push_back(entry);
        }
    }

    /// The entries kept, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.entries.iter()
    }
}

impl<T: Clone> Recent<T> {
    /// A copy of the entries kept, oldest first.
    pub fn to_vec(&self) -> Vec<T> {
        self.entries.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_newest_entries_are_kept_in_order() {
        let mut log = Recent::new(3);
        for n in 1..=5 {
            log.push(n);
        }
        assert_eq!(log.to_vec(), [3, 4, 5]);
        let mut none = Recent::new(0);
        none.push(1);
        assert!(none.to_vec().is_empty());
    }
}
