//! Trap 10 (Go xwal): no directory fsync after create/rename, and `/tmp` as the
//! default directory. Here there is no default directory at all, files are
//! private (0600), segment names that are symlinks or not regular files are
//! refused, and foreign files are left alone. (The directory fsync itself is not
//! observable from a test without a crash harness.)
use crate::common;
use crate::ondisk;
use common::*;
use xwal::*;

#[test]
fn there_is_no_default_directory() {
    let e = Config::new("").validate().unwrap_err();
    assert!(matches!(&e, Error::Config(m) if m.contains("dir")), "{e}");
    let e = Wal::open(Config::new("")).unwrap_err();
    assert!(matches!(&e, Error::Config(m) if m.contains("dir")), "{e}");
    let e = Wal::open(Config::new("").io_engine(IoEngine::Sync)).unwrap_err();
    assert!(matches!(e, Error::Config(_)));
}

#[test]
fn missing_directories_are_created() {
    for engine in ENGINES {
        let d = tempdir();
        let nested = d.path().join("a").join("b").join("wal");
        let cfg = small(&nested, engine);
        let wal = open(&cfg);
        assert_eq!(wal.append(b"x").unwrap(), 1);
        assert!(nested.is_dir());
        assert!(!ondisk::written_segments(&nested).is_empty());
    }
}

#[test]
fn files_are_private() {
    for engine in ENGINES {
        let d = tempdir();
        // Small replay chunks: sealed segments get anchor indexes, which must be private too.
        let cfg = small(d.path(), engine).replay_chunk_size(16 << 10);
        let wal = open(&cfg);
        append_n(&wal, 1..=2000, 200);
        wal.create_checkpoint().unwrap();
        wal.append(b"after").unwrap();
        // Closed first: while open, the preparer thread creates, renames and shrinks files, so a
        // name listed here could be gone by the time its mode is read.
        wal.close().unwrap();
        let segs = ondisk::segment_files(d.path());
        assert!(
            segs.iter().any(|s| s.checkpoint) && segs.len() >= 3,
            "{segs:?}"
        );
        for s in &segs {
            assert_eq!(
                ondisk::mode(&s.path),
                0o600,
                "{} has mode {:o}",
                s.path.display(),
                ondisk::mode(&s.path)
            );
        }
        let names = ondisk::file_names(d.path());
        assert!(names.iter().any(|n| n.ends_with(".anchors")), "{names:?}");
        for name in names {
            let p = d.path().join(&name);
            assert_eq!(
                ondisk::mode(&p) & 0o077,
                0,
                "{name} is readable by others: {:o}",
                ondisk::mode(&p)
            );
        }
    }
}

fn populated(engine: IoEngine) -> (tempfile::TempDir, Config) {
    let d = tempdir();
    let cfg = small(d.path(), engine);
    let wal = open(&cfg);
    append_n(&wal, 1..=100, 100);
    drop(wal);
    (d, cfg)
}

#[test]
fn symlinked_segment_is_refused() {
    for engine in ENGINES {
        let (d, cfg) = populated(engine);
        let outside = tempdir();
        let target = outside.path().join("target");
        std::fs::write(&target, b"not yours").unwrap();
        let link = xwal::format::segment_path(d.path(), 99, false);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        match Wal::open(cfg.clone()) {
            Err(Error::UnsafeFile { path, .. }) => assert_eq!(path, link),
            Err(e) => panic!("expected UnsafeFile, got {e}"),
            Ok(_) => panic!("open followed a symlinked segment"),
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"not yours");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );

        // A symlink to a real segment of the same WAL, under a checkpoint name, is refused as well.
        std::fs::remove_file(&link).unwrap();
        let real = xwal::format::segment_path(d.path(), 0, false);
        let link2 = xwal::format::segment_path(d.path(), 7, true);
        std::os::unix::fs::symlink(&real, &link2).unwrap();
        assert!(
            matches!(Wal::open(cfg.clone()), Err(Error::UnsafeFile { path, .. }) if path == link2)
        );
        std::fs::remove_file(&link2).unwrap();

        // Without the links the WAL opens with everything intact.
        let wal = open(&cfg);
        assert_eq!(
            lsns(&replay_all(&wal, ReplayOptions::all())),
            (1..=100).collect::<Vec<_>>()
        );
    }
}

#[test]
fn directory_with_a_segment_name_is_refused() {
    for engine in ENGINES {
        let (d, cfg) = populated(engine);
        let p = xwal::format::segment_path(d.path(), 50, false);
        std::fs::create_dir(&p).unwrap();
        assert!(matches!(Wal::open(cfg.clone()), Err(Error::UnsafeFile { path, .. }) if path == p));
        std::fs::remove_dir(&p).unwrap();
        open(&cfg);
    }
}

#[test]
fn symlinked_lock_file_is_not_followed() {
    for engine in ENGINES {
        let (d, cfg) = populated(engine);
        let outside = tempdir();
        let target = outside.path().join("target");
        std::fs::write(&target, b"keep").unwrap();
        let lock = d.path().join(xwal::format::LOCK_FILE);
        std::fs::remove_file(&lock).unwrap();
        std::os::unix::fs::symlink(&target, &lock).unwrap();
        assert!(
            Wal::open(cfg.clone()).is_err(),
            "open followed a symlinked lock file"
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert!(
            std::fs::symlink_metadata(&lock)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}

/// The anchor index is a hint the writer overwrites: a symlink planted under its
/// name is not followed (the write fails, is logged, and nothing else happens).
#[test]
fn symlinked_anchor_index_is_not_followed() {
    for engine in ENGINES {
        let d = tempdir();
        let outside = tempdir();
        let target = outside.path().join("target");
        std::fs::write(&target, b"keep").unwrap();
        let link = xwal::format::anchor_index_path(d.path(), 0);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let wal = open(&small(d.path(), engine).replay_chunk_size(16 << 10));
        append_n(&wal, 1..=400, 2000);
        assert!(wal.segments().len() >= 3, "segment 0 was sealed");
        wal.close().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // Segment 1 has its index, written normally.
        assert!(xwal::format::anchor_index_path(d.path(), 1).is_file());
    }
}

#[test]
fn foreign_files_are_ignored_and_kept() {
    for engine in ENGINES {
        let (d, cfg) = populated(engine);
        let foreign = [
            "notes.txt",
            "wal_42",
            "wal_00042.checkpoint",
            "wal-42.seg",
            "wal-x.seg.bak",
        ];
        for f in foreign {
            std::fs::write(d.path().join(f), f.as_bytes()).unwrap();
        }
        let (wal, rep) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(rep.last_lsn, 100);
        assert!(rep.removed_files.is_empty(), "{rep:?}");
        assert_eq!(wal.append(b"x").unwrap(), 101);
        assert_eq!(replay_all(&wal, ReplayOptions::all()).len(), 101);
        drop(wal);
        for f in foreign {
            assert_eq!(
                std::fs::read(d.path().join(f)).unwrap(),
                f.as_bytes(),
                "{f} changed"
            );
        }
    }
}
