//! What a replay reads: the segments a range selects, their readable bound,
//! and how to open each (local file, checkpoint rename, or the S3 tier).

use super::{ReplayOptions, ReplayRange};
use crate::dir;
use crate::error::{Error, Result};
use crate::shared::{SegmentMeta, Shared};
use std::fs::File;

/// Selects segments for a range; `all` is the snapshot in number order.
fn select(all: &[SegmentMeta], bound: u64, range: ReplayRange) -> Result<Vec<SegmentMeta>> {
    // An empty WAL still refuses a named segment or checkpoint it lacks, and
    // an empty range, exactly as a non-empty one does.
    let first = all.first().map(|m| m.segment);
    let last = all.last().map(|m| m.segment);
    let pick = |lo: u64, hi: u64| {
        all.iter()
            .filter(|m| m.segment >= lo && m.segment <= hi)
            .copied()
            .collect::<Vec<_>>()
    };
    Ok(match range {
        ReplayRange::All => all.to_vec(),
        ReplayRange::Segments { start, end } => {
            let (start, end) = (start.0, end.0);
            let (Some(first), Some(last)) = (first, last) else {
                if start != 0 {
                    return Err(Error::NotFound {
                        what: "segment",
                        number: start,
                    });
                }
                return Ok(vec![]);
            };
            let lo = if start == 0 { first } else { start };
            if lo > last || (start != 0 && start < first) {
                return Err(Error::NotFound {
                    what: "segment",
                    number: start,
                });
            }
            if end < lo {
                return Err(Error::InvalidArgument(format!(
                    "segment range {start}..={end} is empty: end must be >= start"
                )));
            }
            pick(lo, end)
        }
        ReplayRange::Lsns { from, to } => {
            let (from, to) = (from.0, to.0);
            if to < from {
                return Err(Error::InvalidArgument(format!(
                    "LSN range {from}..={to} is empty: to must be >= from"
                )));
            }
            let mut v = Vec::new();
            for (i, m) in all.iter().enumerate() {
                let seg_last = all
                    .get(i + 1)
                    .map(|n| n.first_lsn.saturating_sub(1))
                    .unwrap_or(bound);
                if m.first_lsn <= to && seg_last >= from && seg_last >= m.first_lsn {
                    v.push(*m);
                }
            }
            v
        }
        ReplayRange::FromCheckpoint(cp) | ReplayRange::ToCheckpoint(cp) => {
            let cp = cp.0;
            if !all.iter().any(|m| m.segment == cp && m.checkpoint) {
                return Err(Error::NotFound {
                    what: "checkpoint",
                    number: cp,
                });
            }
            match range {
                ReplayRange::FromCheckpoint(_) => pick(cp, u64::MAX),
                _ => pick(0, cp),
            }
        }
    })
}

pub(crate) fn lsn_filter(range: ReplayRange) -> (u64, u64) {
    match range {
        ReplayRange::Lsns { from, to } => (from.0, to.0),
        _ => (0, u64::MAX),
    }
}

/// What a replay reads: the snapshot of segments, its readable bound, and the
/// segments the range selects.
pub(crate) struct Plan {
    pub all: Vec<SegmentMeta>,
    pub bound: u64,
    pub selected: Vec<SegmentMeta>,
}

pub(crate) fn plan(shared: &Shared, opts: ReplayOptions) -> Result<Plan> {
    let (all, bound) = shared.snapshot();
    // Segments that only the tier holds (S3: archived, gone locally) come first.
    let all = match &shared.tier {
        Some(t) => t.extend_snapshot(all)?,
        None => all,
    };
    let selected = select(&all, bound, opts.range)?;
    // The tier's segments come first, then the local ones: one ascending
    // sequence, of which the selection is a run.
    debug_assert!(all.windows(2).all(|w| w[0].segment < w[1].segment));
    debug_assert!(selected.windows(2).all(|w| w[0].segment < w[1].segment));
    debug_assert!(
        selected
            .iter()
            .all(|s| all.iter().any(|m| m.segment == s.segment))
    );
    Ok(Plan {
        all,
        bound,
        selected,
    })
}

/// Record boundaries of a segment known without reading it: from this
/// process's writer, else from the anchor index beside the segment.
pub(crate) fn known_anchors(shared: &Shared, meta: &SegmentMeta) -> Vec<(u64, u64)> {
    let mine = shared.anchors_of(meta.segment);
    if !mine.is_empty() {
        return mine;
    }
    dir::read_anchor_index(&shared.dir, meta.segment, meta.salt, meta.capacity).unwrap_or_default()
}

/// Opens a segment, following a concurrent checkpoint rename.
pub(crate) fn open_segment(shared: &Shared, meta: &SegmentMeta) -> Result<File> {
    for _ in 0..3 {
        let current = shared.table.lock().get(&meta.segment).copied();
        let Some(m) = current else {
            // Not (or no longer) on local disk: the tier fetches and verifies it.
            if let Some(t) = &shared.tier {
                return t.fetch(meta.segment);
            }
            return Err(Error::NotFound {
                what: "segment",
                number: meta.segment,
            });
        };
        // A read-only view does not see another process's checkpoint rename: try both names.
        for checkpoint in [m.checkpoint, !m.checkpoint] {
            let path = dir::segment_path(&shared.dir, m.segment, checkpoint);
            match dir::open_for_read(&path) {
                Ok(f) => return Ok(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
            }
        }
    }
    // Gone under a read-only view (another process's retention or consume):
    // the tier's copy is the same segment.
    if let (Some(t), true) = (&shared.tier, shared.read_only) {
        return t.fetch(meta.segment);
    }
    Err(Error::NotFound {
        what: "segment",
        number: meta.segment,
    })
}

/// The segments a `consume` may delete once the replay succeeded: the selected
/// prefix of the log, the active segment excepted.
pub(crate) fn consumable(plan: &Plan, opts: ReplayOptions) -> Result<Vec<u64>> {
    if !opts.consume {
        return Ok(vec![]);
    }
    let first_present = plan.all.first().map(|m| m.segment);
    let active = plan.all.last().map(|m| m.segment);
    if plan.selected.first().map(|m| m.segment) != first_present {
        return Err(Error::InvalidArgument(
            "consume deletes a prefix of the log only: start the range at the first segment".into(),
        ));
    }
    let prefix: Vec<u64> = plan
        .selected
        .iter()
        .map(|m| m.segment)
        .filter(|s| Some(*s) != active)
        .collect();
    // A consume deletes a prefix of what is present, never the active segment.
    debug_assert!(
        prefix
            .iter()
            .zip(&plan.all)
            .all(|(s, m)| *s == m.segment && Some(*s) != active)
    );
    Ok(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CheckpointId, Lsn, SegmentId};

    fn m(segment: u64, first_lsn: u64, checkpoint: bool) -> SegmentMeta {
        SegmentMeta {
            segment,
            first_lsn,
            salt: 1,
            max_entry_size: 100,
            capacity: 1 << 20,
            checkpoint,
            lsn_gap_before: false,
        }
    }

    #[test]
    fn range_zero_means_first_present() {
        let all = [m(5, 1, false), m(6, 10, false), m(7, 20, false)];
        let s = select(
            &all,
            25,
            ReplayRange::Segments {
                start: SegmentId(0),
                end: SegmentId(6),
            },
        )
        .unwrap();
        assert_eq!(s.iter().map(|x| x.segment).collect::<Vec<_>>(), vec![5, 6]);
        assert!(
            select(
                &all,
                25,
                ReplayRange::Segments {
                    start: SegmentId(3),
                    end: SegmentId(6)
                }
            )
            .is_err()
        );
        assert!(
            select(
                &all,
                25,
                ReplayRange::Segments {
                    start: SegmentId(8),
                    end: SegmentId(9)
                }
            )
            .is_err()
        );
    }

    #[test]
    fn lsn_range_picks_overlapping_segments() {
        let all = [m(0, 1, false), m(1, 10, false), m(2, 20, false)];
        let s = select(
            &all,
            25,
            ReplayRange::Lsns {
                from: Lsn(9),
                to: Lsn(10),
            },
        )
        .unwrap();
        assert_eq!(s.iter().map(|x| x.segment).collect::<Vec<_>>(), vec![0, 1]);
    }

    #[test]
    fn checkpoint_ranges() {
        let all = [m(0, 1, true), m(1, 10, true), m(2, 20, false)];
        let to: Vec<u64> = select(&all, 25, ReplayRange::ToCheckpoint(CheckpointId(1)))
            .unwrap()
            .iter()
            .map(|x| x.segment)
            .collect();
        assert_eq!(to, vec![0, 1]);
        let from: Vec<u64> = select(&all, 25, ReplayRange::FromCheckpoint(CheckpointId(1)))
            .unwrap()
            .iter()
            .map(|x| x.segment)
            .collect();
        assert_eq!(from, vec![1, 2]);
        assert!(matches!(
            select(&all, 25, ReplayRange::FromCheckpoint(CheckpointId(2))),
            Err(Error::NotFound { .. })
        ));
    }

    /// An empty WAL answers as a non-empty one would: what is named must exist.
    #[test]
    fn select_on_an_empty_wal() {
        let none = |r| select(&[], 0, r);
        assert!(none(ReplayRange::All).unwrap().is_empty());
        assert!(
            none(ReplayRange::Segments {
                start: SegmentId(0),
                end: SegmentId(9)
            })
            .unwrap()
            .is_empty()
        );
        assert!(
            none(ReplayRange::Lsns {
                from: Lsn(1),
                to: Lsn(9)
            })
            .unwrap()
            .is_empty()
        );
        for r in [
            ReplayRange::FromCheckpoint(CheckpointId(3)),
            ReplayRange::ToCheckpoint(CheckpointId(0)),
            ReplayRange::Segments {
                start: SegmentId(2),
                end: SegmentId(4),
            },
        ] {
            assert!(matches!(none(r), Err(Error::NotFound { .. })), "{r:?}");
        }
        assert!(matches!(
            none(ReplayRange::Lsns {
                from: Lsn(5),
                to: Lsn(1)
            }),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            none(ReplayRange::Segments { start: SegmentId(0), end: SegmentId(0) }),
            Ok(v) if v.is_empty()
        ));
    }
}
