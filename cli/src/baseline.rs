//! Raw baselines on the same disk: what the hardware gives without xwal.
//!
//! - [`qd1_loop`]: one durable 4 KiB write at a time at sequential offsets of a
//!   zero-filled file, by one of four [`RawStrategy`]s (io_uring write linked
//!   to an fdatasync; pwrite O_DIRECT + fdatasync; pwrite on O_DIRECT|O_DSYNC;
//!   buffered pwrite + fdatasync). No one strategy is fastest on every disk,
//!   so the bench runs all four and takes the best as the disk's limit
//!   (workloads a, b, r). With 128 KiB writes holding 1,000 packed 128-byte
//!   entries the io_uring loop is the ceiling of group commit at that batch
//!   size (workload c).
//! - [`PwriteLoop`]: the pwrite strategies one commit at a time, also the disk
//!   half of the broadcast floor (`bench/floors.rs`).
//! - [`uring_sequential_write`] / [`uring_sequential_read`]: sequential
//!   O_DIRECT I/O with several requests in flight, the bandwidth ceiling
//!   (workloads d and e).

use super::bench::stats::Histogram;
use io_uring::{IoUring, opcode, squeue, types};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use xwal::internals::io::AlignedBuf;

pub struct LoopResult {
    /// Commits (write + fdatasync pairs) completed.
    pub ops: u64,
    pub elapsed: Duration,
    /// Latency of each commit.
    pub latency: Histogram,
}

pub struct BandwidthResult {
    pub bytes: u64,
    pub elapsed: Duration,
}

impl BandwidthResult {
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64() / 1e6
    }
}

/// A zero-filled, preallocated file like an xwal segment, at `dir/name`.
fn prepared_path(dir: &Path, name: &str, size: u64) -> Result<PathBuf, String> {
    let seg = xwal::internals::dir::prepare_segment(dir, 1_000_000 + name.len() as u64, size, true)
        .map_err(|e| e.to_string())?;
    let path = dir.join(name);
    std::fs::rename(&seg, &path).map_err(|e| e.to_string())?;
    Ok(path)
}

/// The file and buffer of a QD1 loop: `dir/name`, zero-filled to `file_size`
/// bytes and opened for writing with `flags`, and one aligned `block` of data
/// (O_DIRECT needs the alignment; the buffered loop uses the same buffer so
/// that only the open flags differ).
fn loop_file(
    dir: &Path,
    name: &str,
    block: usize,
    file_size: u64,
    flags: i32,
) -> Result<(std::fs::File, AlignedBuf), String> {
    assert!(block.is_multiple_of(4096) && block as u64 <= file_size);
    let path = prepared_path(dir, name, file_size)?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(flags | libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| format!("opening {}: {e}", path.display()))?;
    let mut buf = AlignedBuf::new(block);
    buf.as_mut_slice().fill(0xa5);
    Ok((file, buf))
}

/// How a raw QD1 loop makes each 4 KiB write durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawStrategy {
    /// io_uring O_DIRECT write linked to an fdatasync (IO_LINK).
    UringFdatasync,
    /// pwrite on an O_DIRECT file, then fdatasync.
    DirectFdatasync,
    /// pwrite on an O_DIRECT|O_DSYNC file: durable when the call returns.
    DirectDsync,
    /// pwrite through the page cache, then fdatasync.
    BufferedFdatasync,
}

impl RawStrategy {
    pub const ALL: [RawStrategy; 4] = [
        RawStrategy::UringFdatasync,
        RawStrategy::DirectFdatasync,
        RawStrategy::DirectDsync,
        RawStrategy::BufferedFdatasync,
    ];

    /// Short name, used in row names and file names.
    pub fn label(self) -> &'static str {
        match self {
            RawStrategy::UringFdatasync => "uring O_DIRECT write+fdatasync",
            RawStrategy::DirectFdatasync => "pwrite O_DIRECT+fdatasync",
            RawStrategy::DirectDsync => "pwrite O_DIRECT|O_DSYNC",
            RawStrategy::BufferedFdatasync => "pwrite buffered+fdatasync",
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            RawStrategy::UringFdatasync => "uring.dat",
            RawStrategy::DirectFdatasync => "direct.dat",
            RawStrategy::DirectDsync => "dsync.dat",
            RawStrategy::BufferedFdatasync => "buffered.dat",
        }
    }
}

/// `op` (one durable commit) repeated for `duration`, each call timed.
fn timed(
    duration: Duration,
    mut op: impl FnMut() -> Result<(), String>,
) -> Result<LoopResult, String> {
    let mut lat = Histogram::new();
    let start = Instant::now();
    let mut ops = 0u64;
    while start.elapsed() < duration {
        let t = Instant::now();
        op()?;
        lat.record(t.elapsed().as_nanos() as u64);
        ops += 1;
    }
    Ok(LoopResult {
        ops,
        elapsed: start.elapsed(),
        latency: lat,
    })
}

/// QD1 loop of `block`-byte writes by `strategy` for `duration`, sequential
/// offsets wrapping inside a zero-filled file of `file_size` bytes in `dir`.
pub fn qd1_loop(
    dir: &Path,
    strategy: RawStrategy,
    block: usize,
    duration: Duration,
    file_size: u64,
) -> Result<LoopResult, String> {
    let name = strategy.file_name();
    if strategy == RawStrategy::UringFdatasync {
        return uring_write_fdatasync(dir, name, block, duration, file_size);
    }
    let mut l = PwriteLoop::new(dir, name, block, file_size, strategy)?;
    timed(duration, || l.commit())
}

/// One file written by pwrite, one durable `block` at a time, at sequential
/// offsets that wrap inside the file (an overwrite of written blocks, as a
/// WAL's zero-filled segment is).
pub struct PwriteLoop {
    file: std::fs::File,
    buf: AlignedBuf,
    block: usize,
    off: u64,
    file_size: u64,
    /// fdatasync after each write (not for O_DSYNC, where the write is durable).
    sync: bool,
}

impl PwriteLoop {
    /// A new zero-filled file `dir/name` of `file_size` bytes, opened for `strategy`
    /// (any but [`RawStrategy::UringFdatasync`], which is not a pwrite).
    pub fn new(
        dir: &Path,
        name: &str,
        block: usize,
        file_size: u64,
        strategy: RawStrategy,
    ) -> Result<PwriteLoop, String> {
        let flags = match strategy {
            RawStrategy::DirectFdatasync => libc::O_DIRECT,
            RawStrategy::DirectDsync => libc::O_DIRECT | libc::O_DSYNC,
            RawStrategy::BufferedFdatasync => 0,
            RawStrategy::UringFdatasync => return Err("io_uring is not a pwrite loop".into()),
        };
        let (file, buf) = loop_file(dir, name, block, file_size, flags)?;
        Ok(PwriteLoop {
            file,
            buf,
            block,
            off: 0,
            file_size,
            sync: strategy != RawStrategy::DirectDsync,
        })
    }

    /// One write of `block` bytes at the next offset, durable on return.
    pub fn commit(&mut self) -> Result<(), String> {
        let n = self
            .file
            .write_at(&self.buf.as_slice()[..self.block], self.off)
            .map_err(|e| format!("baseline pwrite: {e}"))?;
        if n != self.block {
            return Err(format!("baseline short write: {n}"));
        }
        if self.sync {
            self.file
                .sync_data()
                .map_err(|e| format!("baseline fdatasync: {e}"))?;
        }
        self.off += self.block as u64;
        if self.off + self.block as u64 > self.file_size {
            self.off = 0;
        }
        Ok(())
    }
}

fn check(res: i32, what: &str) -> Result<(), String> {
    if res < 0 {
        return Err(format!(
            "baseline {what} failed: {}",
            std::io::Error::from_raw_os_error(-res)
        ));
    }
    Ok(())
}

/// QD1 loop: one O_DIRECT write of `block` bytes linked to an fdatasync,
/// sequential offsets (wrapping inside a zero-filled file of `file_size`
/// bytes), through io_uring, for `duration`.
pub fn uring_write_fdatasync(
    dir: &Path,
    name: &str,
    block: usize,
    duration: Duration,
    file_size: u64,
) -> Result<LoopResult, String> {
    let (file, mut buf) = loop_file(dir, name, block, file_size, libc::O_DIRECT)?;
    let fd = types::Fd(file.as_raw_fd());
    let mut ring = IoUring::new(8).map_err(|e| format!("io_uring: {e}"))?;
    let mut off = 0u64;
    timed(duration, || {
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
            check(cqe.result(), "write+fdatasync")?;
            if cqe.user_data() == 1 && cqe.result() as usize != block {
                return Err(format!("baseline short write: {}", cqe.result()));
            }
        }
        off += block as u64;
        if off + block as u64 > file_size {
            off = 0;
        }
        Ok(())
    })
}

/// Sequential O_DIRECT writes of `io_size` bytes, `depth` in flight, covering
/// `volume` bytes of a new fallocated file, then one fdatasync (timed too).
/// Leaves the file in place for [`uring_sequential_read`].
pub fn uring_sequential_write(
    path: &Path,
    volume: u64,
    io_size: usize,
    depth: usize,
) -> Result<BandwidthResult, String> {
    assert!(io_size.is_multiple_of(4096) && depth > 0);
    let volume = volume.div_ceil(io_size as u64) * io_size as u64;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_DIRECT | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| format!("creating {}: {e}", path.display()))?;
    // SAFETY: plain syscall on an open descriptor.
    if unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, volume as libc::off_t) } != 0 {
        file.set_len(volume).map_err(|e| e.to_string())?;
    }
    file.sync_all().map_err(|e| e.to_string())?;
    let fd = types::Fd(file.as_raw_fd());
    let mut ring = IoUring::new((depth as u32 + 1).next_power_of_two())
        .map_err(|e| format!("io_uring: {e}"))?;
    let mut bufs: Vec<AlignedBuf> = (0..depth).map(|_| AlignedBuf::new(io_size)).collect();
    for b in &mut bufs {
        b.as_mut_slice().fill(0x5a);
    }
    let mut free: Vec<usize> = (0..depth).collect();
    let start = Instant::now();
    let (mut next, mut done) = (0u64, 0u64);
    while done < volume {
        while next < volume {
            let Some(i) = free.pop() else { break };
            let e = opcode::Write::new(fd, bufs[i].as_mut_ptr(), io_size as u32)
                .offset(next)
                .build()
                .user_data(i as u64);
            // SAFETY: buffer i stays untouched until its completion is reaped.
            unsafe { ring.submission().push(&e).map_err(|_| "sq full")? };
            next += io_size as u64;
        }
        ring.submit_and_wait(1).map_err(|e| e.to_string())?;
        for cqe in ring.completion() {
            check(cqe.result(), "sequential write")?;
            if cqe.result() as usize != io_size {
                return Err(format!("baseline short write: {}", cqe.result()));
            }
            free.push(cqe.user_data() as usize);
            done += io_size as u64;
        }
    }
    // SAFETY: plain syscall on an open descriptor.
    if unsafe { libc::fdatasync(file.as_raw_fd()) } != 0 {
        return Err(format!(
            "baseline fdatasync: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(BandwidthResult {
        bytes: volume,
        elapsed: start.elapsed(),
    })
}

/// Sequential O_DIRECT reads of the whole file at `path`, `io_size` bytes
/// each, `depth` in flight.
pub fn uring_sequential_read(
    path: &Path,
    io_size: usize,
    depth: usize,
) -> Result<BandwidthResult, String> {
    let file = xwal::internals::dir::open_for_read(path).map_err(|e| e.to_string())?;
    let volume = file.metadata().map_err(|e| e.to_string())?.len();
    let volume = volume / io_size as u64 * io_size as u64;
    let fd = types::Fd(file.as_raw_fd());
    let mut ring = IoUring::new((depth as u32 + 1).next_power_of_two())
        .map_err(|e| format!("io_uring: {e}"))?;
    let mut bufs: Vec<AlignedBuf> = (0..depth).map(|_| AlignedBuf::new(io_size)).collect();
    let mut free: Vec<usize> = (0..depth).collect();
    let mut checksum = 0u64;
    let start = Instant::now();
    let (mut next, mut done) = (0u64, 0u64);
    while done < volume {
        while next < volume {
            let Some(i) = free.pop() else { break };
            let e = opcode::Read::new(fd, bufs[i].as_mut_ptr(), io_size as u32)
                .offset(next)
                .build()
                .user_data(i as u64);
            // SAFETY: buffer i is not read until its completion is reaped.
            unsafe { ring.submission().push(&e).map_err(|_| "sq full")? };
            next += io_size as u64;
        }
        ring.submit_and_wait(1).map_err(|e| e.to_string())?;
        for cqe in ring.completion() {
            check(cqe.result(), "sequential read")?;
            if cqe.result() as usize != io_size {
                return Err(format!("baseline short read: {}", cqe.result()));
            }
            let i = cqe.user_data() as usize;
            // Touch the data, as a consumer would.
            checksum = checksum.wrapping_add(bufs[i].as_slice()[io_size - 1] as u64);
            free.push(i);
            done += io_size as u64;
        }
    }
    std::hint::black_box(checksum);
    Ok(BandwidthResult {
        bytes: volume,
        elapsed: start.elapsed(),
    })
}
