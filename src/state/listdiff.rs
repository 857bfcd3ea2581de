//! Keeping list models in step with fresh data without replacing what did not change: a list box
//! bound to a model rebuilds only the rows of items that were spliced in.

/// The smallest splice that turns a list model's items into `new`: the items both share at the start
/// and at the end stay.
#[derive(Debug, PartialEq, Eq)]
pub struct Change {
    pub position: u32,
    pub removed: u32,
    /// Which of the new items go in at `position`.
    pub added: std::ops::Range<usize>,
}

impl Change {
    /// None when the model already holds `new`. `current(i)` reads the model's item i.
    pub fn between<M, N>(
        len: u32,
        current: impl Fn(u32) -> Option<M>,
        new: &[N],
        same: impl Fn(&M, &N) -> bool,
    ) -> Option<Change> {
        let old = len as usize;
        let matches = |i: usize, j: usize| current(i as u32).is_some_and(|m| same(&m, &new[j]));
        let mut prefix = 0;
        while prefix < old.min(new.len()) && matches(prefix, prefix) {
            prefix += 1;
        }
        let mut suffix = 0;
        while suffix < (old - prefix).min(new.len() - prefix)
            && matches(old - 1 - suffix, new.len() - 1 - suffix)
        {
            suffix += 1;
        }
        let removed = old - prefix - suffix;
        let added = prefix..new.len() - suffix;
        (removed > 0 || !added.is_empty()).then_some(Change {
            position: prefix as u32,
            removed: removed as u32,
            added,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(old: &[i32], new: &[i32]) -> Option<Change> {
        Change::between(
            old.len() as u32,
            |i| old.get(i as usize).copied(),
            new,
            |a, b| a == b,
        )
    }

    fn apply(old: &[i32], new: &[i32]) -> Vec<i32> {
        let mut list = old.to_vec();
        if let Some(c) = change(old, new) {
            let at = c.position as usize;
            list.splice(at..at + c.removed as usize, new[c.added].iter().copied());
        }
        list
    }

    #[test]
    fn nothing_to_do_when_equal() {
        assert_eq!(change(&[1, 2, 3], &[1, 2, 3]), None);
        assert_eq!(change(&[], &[]), None);
    }

    #[test]
    fn only_the_middle_changes() {
        assert_eq!(
            change(&[1, 2, 3, 4], &[1, 9, 3, 4]),
            Some(Change {
                position: 1,
                removed: 1,
                added: 1..2
            })
        );
        // A new deployment at the top: one insertion, the rest stay.
        assert_eq!(
            change(&[2, 1], &[3, 2, 1]),
            Some(Change {
                position: 0,
                removed: 0,
                added: 0..1
            })
        );
        // The oldest pruned: one removal at the end.
        assert_eq!(
            change(&[3, 2, 1], &[3, 2]),
            Some(Change {
                position: 2,
                removed: 1,
                added: 2..2
            })
        );
    }

    #[test]
    fn applying_always_gives_the_new_list() {
        let cases: &[(&[i32], &[i32])] = &[
            (&[], &[1, 2]),
            (&[1, 2], &[]),
            (&[1, 1, 1], &[1, 1]),
            (&[1, 2, 1], &[1, 1]),
            (&[5, 6, 7], &[7, 6, 5]),
            (&[1, 2, 3], &[0, 1, 2, 3, 4]),
        ];
        for (old, new) in cases {
            assert_eq!(apply(old, new), new.to_vec(), "{old:?} → {new:?}");
        }
    }
}
