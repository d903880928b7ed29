//! The image status machine: Glance's `valid_state_targets` table as a pure
//! function.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The lifecycle status of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageStatus {
    /// Record only, no data.
    Queued,
    /// Data upload (`PUT /file`) in progress.
    Saving,
    /// Data staged (`PUT /stage`).
    Uploading,
    /// Import task running.
    Importing,
    /// Data present and usable.
    Active,
    /// Download blocked for non-admins.
    Deactivated,
    /// Legacy (v1) upload failure.
    Killed,
    /// Deleted with delayed delete; the data goes later.
    PendingDelete,
    /// Soft-deleted; the API answers 404.
    Deleted,
}

impl ImageStatus {
    /// Every status, in table order.
    pub const ALL: [ImageStatus; 9] = [
        Self::Queued,
        Self::Saving,
        Self::Uploading,
        Self::Importing,
        Self::Active,
        Self::Deactivated,
        Self::Killed,
        Self::PendingDelete,
        Self::Deleted,
    ];

    /// The statuses this one may move to.
    pub fn targets(self) -> &'static [ImageStatus] {
        use ImageStatus::*;
        match self {
            Queued => &[Saving, Uploading, Importing, Active, Deleted],
            Saving => &[Active, Killed, Deleted, Queued],
            Uploading => &[Importing, Queued, Deleted],
            Importing => &[Active, Deleted, Queued],
            Active => &[PendingDelete, Deleted, Deactivated],
            Deactivated => &[Active, Deleted],
            Killed => &[Deleted],
            PendingDelete => &[Deleted, Active],
            Deleted => &[],
        }
    }

    /// Whether `self -> to` is in the table.
    pub fn can_transition_to(self, to: ImageStatus) -> bool {
        self.targets().contains(&to)
    }

    /// Returns `to` if `self -> to` is allowed, else [`Error::Conflict`].
    pub fn transition(self, to: ImageStatus) -> Result<ImageStatus> {
        if self.can_transition_to(to) {
            Ok(to)
        } else {
            Err(Error::conflict(format!(
                "image status cannot transition from {self} to {to}"
            )))
        }
    }

    /// The wire name, e.g. `pending_delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Saving => "saving",
            Self::Uploading => "uploading",
            Self::Importing => "importing",
            Self::Active => "active",
            Self::Deactivated => "deactivated",
            Self::Killed => "killed",
            Self::PendingDelete => "pending_delete",
            Self::Deleted => "deleted",
        }
    }
}

impl fmt::Display for ImageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImageStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| Error::invalid(format!("unknown image status {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::ImageStatus::{self, *};
    use proptest::prelude::*;

    /// The spec's table (glance.md §2), written out independently as pairs.
    const TABLE: &[(&str, &str)] = &[
        ("queued", "saving"),
        ("queued", "uploading"),
        ("queued", "importing"),
        ("queued", "active"),
        ("queued", "deleted"),
        ("saving", "active"),
        ("saving", "killed"),
        ("saving", "deleted"),
        ("saving", "queued"),
        ("uploading", "importing"),
        ("uploading", "queued"),
        ("uploading", "deleted"),
        ("importing", "active"),
        ("importing", "deleted"),
        ("importing", "queued"),
        ("active", "pending_delete"),
        ("active", "deleted"),
        ("active", "deactivated"),
        ("deactivated", "active"),
        ("deactivated", "deleted"),
        ("killed", "deleted"),
        ("pending_delete", "deleted"),
        ("pending_delete", "active"),
    ];

    fn in_table(from: ImageStatus, to: ImageStatus) -> bool {
        TABLE.contains(&(from.as_str(), to.as_str()))
    }

    #[test]
    fn every_pair_matches_the_table() {
        let mut allowed = 0;
        for from in ImageStatus::ALL {
            for to in ImageStatus::ALL {
                assert_eq!(
                    from.can_transition_to(to),
                    in_table(from, to),
                    "{from} -> {to}"
                );
                match from.transition(to) {
                    Ok(s) => {
                        assert_eq!(s, to);
                        allowed += 1;
                    }
                    Err(crate::Error::Conflict { reason }) => {
                        assert!(reason.contains(&format!("from {from} to {to}")));
                    }
                    Err(e) => panic!("unexpected {e}"),
                }
            }
        }
        assert_eq!(allowed, TABLE.len());
    }

    #[test]
    fn deleted_is_terminal_and_no_self_loops() {
        assert!(Deleted.targets().is_empty());
        for s in ImageStatus::ALL {
            assert!(!s.can_transition_to(s), "{s}");
        }
    }

    #[test]
    fn names_round_trip() {
        for s in ImageStatus::ALL {
            assert_eq!(s.as_str().parse::<ImageStatus>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert!("bogus".parse::<ImageStatus>().is_err());
    }

    proptest! {
        /// A random walk of attempted transitions never takes a step outside
        /// the table, and once deleted stays deleted.
        #[test]
        fn no_transition_outside_the_table(steps in proptest::collection::vec(0usize..9, 0..64)) {
            let mut cur = Queued;
            for i in steps {
                let to = ImageStatus::ALL[i];
                match cur.transition(to) {
                    Ok(next) => {
                        prop_assert!(in_table(cur, next));
                        cur = next;
                    }
                    Err(_) => prop_assert!(!in_table(cur, to)),
                }
                if cur == Deleted {
                    prop_assert!(ImageStatus::ALL.iter().all(|t| Deleted.transition(*t).is_err()));
                }
            }
        }
    }
}
