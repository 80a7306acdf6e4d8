//! Trap 13 (Go xwal): the library installs its own SIGINT/SIGTERM handler (and
//! logs credentials). Here opening, using and closing a WAL leaves the process's
//! signal dispositions exactly as the application set them. (Credential
//! redaction belongs to the S3 tier, which is not built yet.)
use crate::common;
use common::*;
use xwal::*;

const SIGNALS: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

fn disposition(sig: libc::c_int) -> libc::sighandler_t {
    // SAFETY: querying only (act = null); `old` is a valid out pointer.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        assert_eq!(libc::sigaction(sig, std::ptr::null(), &mut old), 0);
        old.sa_sigaction
    }
}

fn dispositions() -> Vec<libc::sighandler_t> {
    SIGNALS.iter().map(|s| disposition(*s)).collect()
}

#[test]
fn no_signal_handler_is_installed() {
    let before = dispositions();
    for (s, h) in SIGNALS.iter().zip(&before) {
        // The test harness installs none: a handler found here was not the app's choice.
        assert!(
            *h == libc::SIG_DFL || *h == libc::SIG_IGN,
            "signal {s} already has a handler before the test"
        );
    }
    for engine in ENGINES {
        let d = tempdir();
        let cfg = small(d.path(), engine);
        let wal = open(&cfg);
        assert_eq!(dispositions(), before, "{engine:?}: after open");
        append_n(&wal, 1..=500, 500);
        wal.create_checkpoint().unwrap();
        let _ = wal.submit(b"t").unwrap().wait().unwrap();
        assert_eq!(replay_all(&wal, ReplayOptions::all()).len(), 501);
        assert_eq!(
            dispositions(),
            before,
            "{engine:?}: after append/checkpoint/replay"
        );
        wal.close().unwrap();
        drop(wal);
        assert_eq!(dispositions(), before, "{engine:?}: after close");
        // Recovery path too.
        let (wal, _) = Wal::open(cfg.clone()).unwrap();
        assert_eq!(dispositions(), before, "{engine:?}: after reopen");
        drop(wal);
    }
    // Normally both start as SIG_DFL (a shell without job control may start a
    // background job with SIGINT ignored); either way they must still be that.
    assert_eq!(disposition(libc::SIGINT), before[0]);
    assert_eq!(disposition(libc::SIGTERM), before[1]);
    assert_eq!(before[1], libc::SIG_DFL, "SIGTERM");
}
