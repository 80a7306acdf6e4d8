//! The numbers of the public API, each its own type: an LSN, a segment
//! number and a checkpoint number are all 64-bit counters, and a bare `u64`
//! let a caller pass one where another was meant (`purge_through(lsn)` was a
//! segment number). Inside the engine they stay `u64`: the conversion happens
//! where a value crosses the API.
//!
//! Each is a transparent wrapper with a public field, like okaywal's
//! `EntryId`: `Lsn(5)` builds one, `lsn.0` (or [`Lsn::get`]) reads it, and it
//! compares with a plain integer (`assert_eq!(wal.append(b"x")?, 1)`). An
//! LSN or a segment number moves by a count (`lsn + 1`, `last - first`); a
//! checkpoint number does not (the next checkpoint is not `cp + 1`).

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(transparent)]
        pub struct $name(pub u64);

        impl $name {
            #[doc = concat!("The ", $what, " as a plain integer.")]
            #[must_use]
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<u64> for $name {
            fn from(v: u64) -> Self {
                $name(v)
            }
        }

        impl From<$name> for u64 {
            fn from(v: $name) -> u64 {
                v.0
            }
        }

        impl PartialEq<u64> for $name {
            fn eq(&self, other: &u64) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for u64 {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialOrd<u64> for $name {
            fn partial_cmp(&self, other: &u64) -> Option<std::cmp::Ordering> {
                self.0.partial_cmp(other)
            }
        }

        impl PartialOrd<$name> for u64 {
            fn partial_cmp(&self, other: &$name) -> Option<std::cmp::Ordering> {
                self.partial_cmp(&other.0)
            }
        }
    };
}

id_type!(
    /// A log sequence number: 1 for the first entry, dense, never reused.
    /// `Lsn(0)` stands for "no entry" (an empty log's last index).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Lsn, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let (wal, _) = Wal::open(Config::new(dir.path()).segment_size(1 << 20))?;
    /// let lsn: Lsn = wal.append(b"a")?;
    /// assert_eq!(lsn, 1); // compares with a plain number
    /// assert_eq!(wal.append(b"b")?, lsn + 1);
    /// println!("appended LSN {lsn} ({})", lsn.0);
    /// # Ok(()) }
    /// ```
    ///
    /// An LSN is not a segment number: this does not compile (with bare
    /// `u64`s it did, and deleted the wrong segments).
    ///
    /// ```compile_fail
    /// # fn f(wal: &xwal::Wal) -> xwal::Result<()> {
    /// let lsn = wal.append(b"x")?;
    /// wal.purge_through(lsn)?;
    /// # Ok(()) }
    /// ```
    Lsn,
    "LSN"
);

id_type!(
    /// A segment's number: the number in its file name
    /// (`00000000000000000007.wal` is `SegmentId(7)`), rising by one per
    /// rollover, never reused.
    ///
    /// A segment number is not an LSN: this does not compile.
    ///
    /// ```compile_fail
    /// # fn f(wal: &xwal::Wal) -> xwal::Result<()> {
    /// let segment = wal.last_segment().unwrap();
    /// let _ = wal.tail(segment)?;
    /// # Ok(()) }
    /// ```
    SegmentId,
    "segment number"
);

id_type!(
    /// A checkpoint's number: the number of the segment that holds it
    /// (a checkpoint marks a segment, `Wal::create_checkpoint`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let (wal, _) = Wal::open(Config::new(dir.path()).segment_size(1 << 20))?;
    /// wal.append(b"applied")?;
    /// let cp = wal.create_checkpoint()?;
    /// assert_eq!(wal.purge_through(cp)?, [cp.segment()]);
    /// # Ok(()) }
    /// ```
    CheckpointId,
    "checkpoint number"
);

impl CheckpointId {
    /// The segment the checkpoint marks (the same number).
    #[must_use]
    pub const fn segment(self) -> SegmentId {
        SegmentId(self.0)
    }
}

/// An LSN or a segment number moves by a count: `lsn + 1` is the next
/// entry's LSN, `last - first` the number of entries between them.
macro_rules! id_arithmetic {
    ($name:ident) => {
        impl $name {
            /// The one after this (saturating at `u64::MAX`, which xwal never hands out).
            #[must_use]
            pub const fn next(self) -> $name {
                $name(self.0.saturating_add(1))
            }

            /// `self - n`, or 0 if `n` is larger.
            #[must_use]
            pub const fn saturating_sub(self, n: u64) -> $name {
                $name(self.0.saturating_sub(n))
            }
        }

        impl std::ops::Add<u64> for $name {
            type Output = $name;
            fn add(self, n: u64) -> $name {
                $name(self.0 + n)
            }
        }

        impl std::ops::AddAssign<u64> for $name {
            fn add_assign(&mut self, n: u64) {
                self.0 += n;
            }
        }

        impl std::ops::Sub<u64> for $name {
            type Output = $name;
            fn sub(self, n: u64) -> $name {
                $name(self.0 - n)
            }
        }

        impl std::ops::Sub for $name {
            type Output = u64;
            fn sub(self, earlier: $name) -> u64 {
                self.0 - earlier.0
            }
        }
    };
}

id_arithmetic!(Lsn);
id_arithmetic!(SegmentId);

impl From<CheckpointId> for SegmentId {
    fn from(cp: CheckpointId) -> SegmentId {
        cp.segment()
    }
}

/// Wraps each number of a list, at the API (`Wal::checkpoints`, ...).
pub(crate) fn wrap_all<T: From<u64>>(raw: Vec<u64>) -> Vec<T> {
    raw.into_iter().map(T::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_lsn_compares_with_a_plain_integer_both_ways() {
        assert_eq!(Lsn(3), 3);
        assert_eq!(3, Lsn(3));
        assert!(Lsn(3) < 4 && 2 < Lsn(3));
        assert_eq!(vec![Lsn(1), Lsn(2)], [1, 2]);
    }

    #[test]
    fn next_saturates_at_the_top() {
        assert_eq!(Lsn(1).next(), Lsn(2));
        assert_eq!(SegmentId(u64::MAX).next(), SegmentId(u64::MAX));
    }

    #[test]
    fn an_lsn_moves_by_a_count() {
        let mut l = Lsn(5) + 2;
        assert_eq!(l, Lsn(7));
        l += 1;
        assert_eq!((l - 3, l - Lsn(2)), (Lsn(5), 6));
    }

    #[test]
    fn display_is_the_bare_number() {
        assert_eq!(
            format!("{} {} {}", Lsn(9), SegmentId(7), CheckpointId(2)),
            "9 7 2"
        );
    }
}
