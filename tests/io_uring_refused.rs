//! When the kernel refuses io_uring (here: a real seccomp filter, as in a
//! container, installed in a child process), `open` with `IoEngine::Uring`
//! fails naming the cause, and `IoEngine::Auto` falls back to pwrite/fdatasync.
use std::process::Command;
use xwal::*;

const CHILD: &str = "XWAL_SECCOMP_CHILD";

/// Makes io_uring_setup fail with `errno` for this thread and its children.
fn deny_io_uring_setup(errno: u32) {
    const IO_URING_SETUP: u32 = libc::SYS_io_uring_setup as u32;
    let filter = [
        libc::sock_filter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 0,
        }, // ld [nr]
        libc::sock_filter {
            code: 0x15,
            jt: 0,
            jf: 1,
            k: IO_URING_SETUP,
        }, // jeq
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x0005_0000 | errno,
        }, // ret ERRNO
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x7fff_0000,
        }, // ret ALLOW
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut _,
    };
    // SAFETY: prctl with valid arguments; prog outlives the call.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_eq!(
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &prog as *const _
            ),
            0
        );
    }
}

#[test]
fn child_under_seccomp() {
    let Ok(mode) = std::env::var(CHILD) else {
        return;
    };
    let errno = if mode == "eperm" {
        libc::EPERM
    } else {
        libc::ENOSYS
    };
    deny_io_uring_setup(errno as u32);
    let d = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let cfg = Config::new(d.path())
        .segment_size(256 << 10)
        .max_entry_size(4096);
    match Wal::open(cfg.clone()) {
        Err(Error::IoUringUnavailable { cause }) => println!("REFUSED: {cause}"),
        other => panic!("expected IoUringUnavailable, got {:?}", other.map(|_| ())),
    }
    let (wal, _) = Wal::open(cfg.io_engine(IoEngine::Auto)).unwrap();
    assert_eq!(wal.io_engine_name(), "sync");
    assert_eq!(wal.append(b"works").unwrap(), 1);
    let r = wal.replay(ReplayOptions::all()).unwrap();
    let n = r.receiver().iter().count();
    r.finish().unwrap();
    assert_eq!(n, 1);
    println!("FALLBACK OK");
}

fn run_child(mode: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &crate::common::test_name(module_path!(), "child_under_seccomp"),
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, mode)
        .output()
        .unwrap();
    let s =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{s}");
    s
}

#[test]
fn seccomp_enosys_is_named_and_auto_falls_back() {
    let s = run_child("enosys");
    assert!(s.contains("REFUSED: io_uring_setup returned ENOSYS"), "{s}");
    assert!(s.contains("FALLBACK OK"), "{s}");
}

#[test]
fn disabled_sysctl_style_eperm_is_named() {
    let s = run_child("eperm");
    assert!(s.contains("REFUSED: io_uring_setup returned EPERM"), "{s}");
    assert!(s.contains("io_uring_disabled"), "{s}");
}
