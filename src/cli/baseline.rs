//! Raw baselines on the same disk: what the hardware gives without xwal.

use io_uring::{opcode, squeue, types, IoUring};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};
use xwal::io::AlignedBuf;

pub struct LoopResult {
    pub ops: u64,
    pub elapsed: Duration,
    pub latencies_ns: Vec<u64>,
}

/// A zero-filled, preallocated file like an xwal segment.
pub fn prepared_file(dir: &Path, name: &str, size: u64) -> Result<std::fs::File, String> {
    let seg = xwal::dir::prepare_segment(dir, 1_000_000 + name.len() as u64, size, true)
        .map_err(|e| e.to_string())?;
    let path = dir.join(name);
    std::fs::rename(&seg, &path).map_err(|e| e.to_string())?;
    xwal::dir::open_for_write(&path, false).map_err(|e| e.to_string())
}

/// QD1 loop: one O_DIRECT write of `block` bytes linked to an fdatasync, sequential
/// offsets, through io_uring. The latency floor for one durable append.
pub fn uring_write_fdatasync(
    dir: &Path,
    block: usize,
    duration: Duration,
    file_size: u64,
) -> Result<LoopResult, String> {
    let file = prepared_file(dir, "baseline-qd1.dat", file_size)?;
    let fd = types::Fd(file.as_raw_fd());
    let mut ring = IoUring::new(8).map_err(|e| format!("io_uring: {e}"))?;
    let mut buf = AlignedBuf::new(block);
    buf.as_mut_slice().fill(0xa5);
    let mut lat = Vec::with_capacity(1 << 16);
    let start = Instant::now();
    let mut off = 0u64;
    let mut ops = 0u64;
    while start.elapsed() < duration {
        let t = Instant::now();
        let w = opcode::Write::new(fd, buf.as_mut_ptr(), block as u32)
            .offset(off)
            .build()
            .flags(squeue::Flags::IO_LINK)
            .user_data(1);
        let s = opcode::Fsync::new(fd)
            .flags(types::FsyncFlags::DATASYNC)
            .build()
            .user_data(2);
        // SAFETY: buf outlives the completions reaped below.
        unsafe {
            let mut sq = ring.submission();
            sq.push(&w).map_err(|_| "sq full")?;
            sq.push(&s).map_err(|_| "sq full")?;
        }
        ring.submit_and_wait(2).map_err(|e| e.to_string())?;
        for cqe in ring.completion() {
            if cqe.result() < 0 {
                return Err(format!(
                    "baseline I/O failed: {}",
                    std::io::Error::from_raw_os_error(-cqe.result())
                ));
            }
        }
        lat.push(t.elapsed().as_nanos() as u64);
        ops += 1;
        off += block as u64;
        if off + block as u64 > file_size {
            off = 0;
        }
    }
    Ok(LoopResult {
        ops,
        elapsed: start.elapsed(),
        latencies_ns: lat,
    })
}
