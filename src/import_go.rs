//! Reading a Go xwal directory, for migrating to xwal (`xwal import-go`).
//!
//! Go's numbers (the LSNs its records carry, its checkpoint numbers) are
//! plain `u64`s here: they describe Go's files. What the import creates is
//! reported in this crate's types ([`ImportReport::last_lsn`],
//! [`ImportReport::checkpoints`]).
//!
//! A Go xwal segment file holds records back to back, each an unsigned varint
//! length followed by that many bytes of the protobuf `WALEntry { LSN = 1;
//! Data = 2; CRC = 3 }`, with no header, magic or padding. `CRC` is the IEEE
//! CRC-32 of the entry encoded with `CRC = 0` ([`go_crc`]). Files are named
//! `wal_<n>` (older versions zero-pad: `wal_00042`), a checkpoint is
//! `wal_<n>.checkpoint`, and files Go has consumed are renamed `*.garbage`.
//!
//! The parsing ([`records`], [`parse_segment`]) works on byte slices and does
//! no I/O, so it is easy to test; [`list_dir`] and [`GoFile::read`] read a
//! directory one file at a time. Nothing here skips a bad record silently:
//! every one is returned as a [`BadRecord`] with its byte offset.
//!
//! ```
//! use xwal::import_go::{WalEntry, encode_record, go_crc, parse_segment};
//!
//! assert_eq!(go_crc(1, b"test data"), 4049352028);
//! let mut file = encode_record(&WalEntry { lsn: 1, data: b"a".to_vec(), crc: go_crc(1, b"a") });
//! let second_at = file.len() as u64;
//! file.extend(encode_record(&WalEntry { lsn: 2, data: b"b".to_vec(), crc: 7 })); // wrong CRC
//! let parsed = parse_segment(&file);
//! assert_eq!(parsed.entries.len(), 1);
//! assert_eq!(parsed.bad.len(), 1);
//! assert_eq!(parsed.bad[0].offset, second_at);
//! ```

use crate::config::Config;
use crate::error::{Error, Result};
/// Go xwal's entry (protobuf `WALEntry`), the body of its records and of ours.
pub use crate::format::WalEntry;
use prost::Message;
use std::fmt;
use std::path::{Path, PathBuf};

/// Go xwal's entry checksum: IEEE CRC-32 (the `hash/crc32` default, not the
/// CRC32C xwal uses) over the protobuf `WALEntry` encoded with `CRC = 0`.
///
/// ```
/// assert_eq!(xwal::import_go::go_crc(1, b"test data"), 4049352028);
/// ```
pub fn go_crc(lsn: u64, data: &[u8]) -> u32 {
    let body = WalEntry {
        lsn,
        data: data.to_vec(),
        crc: 0,
    }
    .encode_to_vec();
    crc32fast::hash(&body)
}

/// Encodes one record the way Go xwal writes it: `uvarint(len)` then the entry.
/// The entry's `crc` is written as given (use [`go_crc`] for a valid one).
///
/// ```
/// use xwal::import_go::{encode_record, go_crc, parse_segment};
/// let e = xwal::format::WalEntry { lsn: 5, data: b"x".to_vec(), crc: go_crc(5, b"x") };
/// assert_eq!(parse_segment(&encode_record(&e)).entries[0].lsn, 5);
/// ```
pub fn encode_record(entry: &WalEntry) -> Vec<u8> {
    let body = entry.encode_to_vec();
    let mut out = Vec::with_capacity(body.len() + 10);
    let mut n = body.len() as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(&body);
    out
}

/// One entry read from a Go segment file, its CRC checked.
///
/// # Examples
///
/// ```
/// use xwal::format::WalEntry;
/// use xwal::import_go::{encode_record, go_crc, parse_segment, GoEntry};
///
/// let first = encode_record(&WalEntry { lsn: 1, data: b"a".to_vec(), crc: go_crc(1, b"a") });
/// let second = encode_record(&WalEntry { lsn: 2, data: b"bc".to_vec(), crc: go_crc(2, b"bc") });
/// let entries = parse_segment(&[first.clone(), second].concat()).entries;
/// let expected = GoEntry { lsn: 2, data: b"bc".to_vec(), crc: go_crc(2, b"bc"), offset: 0 };
/// assert_eq!(entries[1], GoEntry { offset: first.len() as u64, ..expected });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoEntry {
    /// The entry's LSN.
    pub lsn: u64,
    /// Its payload.
    pub data: Vec<u8>,
    /// Go's CRC as stored (equal to [`go_crc`] of `lsn` and `data`).
    pub crc: u32,
    /// Byte offset of the record's length prefix in the file.
    pub offset: u64,
}

/// Why a record could not be read.
///
/// # Examples
///
/// ```
/// use xwal::format::WalEntry;
/// use xwal::import_go::{encode_record, parse_segment, Problem};
///
/// let wrong_crc = encode_record(&WalEntry { lsn: 1, data: b"a".to_vec(), crc: 0 });
/// let parsed = parse_segment(&[wrong_crc, vec![0; 16]].concat());
/// assert!(matches!(parsed.bad[0].problem, Problem::CrcMismatch { stored: 0, .. }));
/// assert_eq!(parsed.bad[1].problem, Problem::ZeroFill { len: 16 });
/// assert!(parsed.bad[1].problem.to_string().starts_with("16 zero bytes"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The length prefix is not a valid unsigned varint (over 64 bits).
    BadVarint,
    /// The file ends inside the length prefix or the entry: a torn write.
    Truncated {
        /// Bytes the record needs from its offset.
        needed: u64,
        /// Bytes left in the file from its offset.
        available: u64,
    },
    /// Zeros where a record should start, up to the end of the file. Go xwal
    /// reads each zero byte as a phantom entry with LSN 0 that passes its CRC.
    ZeroFill {
        /// Number of zero bytes.
        len: u64,
    },
    /// A zero length prefix followed by non-zero bytes: the framing is lost.
    ZeroLength,
    /// The bytes are not a protobuf `WALEntry`.
    Undecodable(String),
    /// The stored CRC does not match the entry.
    CrcMismatch {
        /// The CRC in the record.
        stored: u32,
        /// The CRC of the LSN and data read.
        computed: u32,
    },
    /// A length prefix above the 1 GiB entry limit: nothing is read into memory
    /// on its word, and the framing after it is lost.
    TooLong {
        /// The length the prefix claims.
        len: u64,
    },
    /// An entry with LSN 0, which Go xwal never assigns.
    ZeroLsn,
    /// An LSN not above the one before it (Go xwal restarted its LSNs, or
    /// files were mixed up). Found by [`plan`], not by [`records`].
    LsnNotIncreasing {
        /// The LSN of the entry before it.
        previous: u64,
    },
}

impl Problem {
    /// True if reading cannot continue after this problem (the record
    /// boundaries that follow are unknown).
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::format::WalEntry;
    /// use xwal::import_go::{encode_record, go_crc, parse_segment, Problem};
    ///
    /// assert!(Problem::ZeroLength.ends_file());
    /// assert!(!Problem::CrcMismatch { stored: 1, computed: 2 }.ends_file());
    /// // Reading goes on after a CRC mismatch: the record boundaries are still known.
    /// let wrong_crc = encode_record(&WalEntry { lsn: 1, data: b"a".to_vec(), crc: 0 });
    /// let good = encode_record(&WalEntry { lsn: 2, data: b"b".to_vec(), crc: go_crc(2, b"b") });
    /// let parsed = parse_segment(&[wrong_crc, good].concat());
    /// assert_eq!((parsed.bad.len(), parsed.entries.len()), (1, 1));
    /// ```
    pub fn ends_file(&self) -> bool {
        matches!(
            self,
            Problem::BadVarint
                | Problem::Truncated { .. }
                | Problem::ZeroFill { .. }
                | Problem::ZeroLength
                | Problem::TooLong { .. }
        )
    }

    /// True for what a crash in the middle of a write leaves at the end of a
    /// file: a truncated record or a zero-filled tail.
    ///
    /// # Examples
    ///
    /// ```
    /// use xwal::import_go::{parse_segment, Problem};
    ///
    /// assert!(Problem::ZeroFill { len: 4096 }.is_torn_tail());
    /// assert!(Problem::Truncated { needed: 10, available: 3 }.is_torn_tail());
    /// assert!(!Problem::BadVarint.is_torn_tail());
    /// // A length prefix of 5 with only one byte after it: a write cut short.
    /// assert!(parse_segment(&[0x05, 0x08]).bad[0].problem.is_torn_tail());
    /// ```
    pub fn is_torn_tail(&self) -> bool {
        matches!(self, Problem::Truncated { .. } | Problem::ZeroFill { .. })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::BadVarint => f.write_str("length prefix is not a valid varint"),
            Problem::Truncated { needed, available } => write!(
                f,
                "truncated record: needs {needed} bytes, the file has {available} left"
            ),
            Problem::ZeroFill { len } => write!(
                f,
                "{len} zero bytes to the end of the file (zero fill; Go reads them as phantom LSN 0 entries)"
            ),
            Problem::ZeroLength => {
                f.write_str("zero length prefix followed by data: record framing lost")
            }
            Problem::Undecodable(e) => write!(f, "not a protobuf WALEntry: {e}"),
            Problem::CrcMismatch { stored, computed } => {
                write!(f, "CRC mismatch: stored {stored}, computed {computed}")
            }
            Problem::TooLong { len } => write!(
                f,
                "length prefix of {len} bytes is above the 1 GiB entry limit: record framing lost"
            ),
            Problem::ZeroLsn => f.write_str("entry has LSN 0"),
            Problem::LsnNotIncreasing { previous } => write!(
                f,
                "LSN does not increase (the entry before it has LSN {previous})"
            ),
        }
    }
}

/// A record that failed to read, and where.
///
/// # Examples
///
/// ```
/// use xwal::format::WalEntry;
/// use xwal::import_go::{encode_record, parse_segment, BadRecord};
///
/// let wrong_crc = encode_record(&WalEntry { lsn: 1, data: b"a".to_vec(), crc: 0 });
/// let bad: &BadRecord = &parse_segment(&wrong_crc).bad[0];
/// assert_eq!((bad.offset, bad.lsn), (0, Some(1)));
/// assert!(bad.to_string().starts_with("offset 0 (LSN 1): CRC mismatch"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// Byte offset of the record's length prefix in the file.
    pub offset: u64,
    /// The LSN the record claims, if it decoded that far.
    pub lsn: Option<u64>,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "offset {}", self.offset)?;
        if let Some(lsn) = self.lsn {
            write!(f, " (LSN {lsn})")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// Iterator over the records of one Go segment file's bytes; see [`records`].
///
/// # Examples
///
/// ```
/// use xwal::format::WalEntry;
/// use xwal::import_go::{encode_record, go_crc, records, Problem};
///
/// let good = encode_record(&WalEntry { lsn: 1, data: b"a".to_vec(), crc: go_crc(1, b"a") });
/// let torn = [0x05, 0x08]; // a length of 5, then only one byte
/// let file = [&good[..], &torn[..]].concat();
/// let mut it = records(&file);
/// assert_eq!(it.next().unwrap().unwrap().lsn, 1);
/// let bad = it.next().unwrap().unwrap_err();
/// assert!(matches!(bad.problem, Problem::Truncated { needed: 6, available: 2 }));
/// assert!(it.next().is_none()); // the framing is lost: nothing more
/// ```
pub struct Records<R> {
    src: R,
    /// Bytes of the source not yet consumed.
    left: u64,
    pos: u64,
    done: bool,
    io_error: Option<std::io::Error>,
}

/// Reads the records of a Go segment file in order. Each item is an entry
/// whose CRC checked, or a [`BadRecord`]. After a problem that loses the record
/// framing ([`Problem::ends_file`]) the iterator ends; after a CRC mismatch or
/// an undecodable entry it goes on with the next record.
///
/// ```
/// let file = xwal::import_go::encode_record(&xwal::format::WalEntry {
///     lsn: 1, data: b"test data".to_vec(), crc: 4049352028,
/// });
/// let got: Vec<_> = xwal::import_go::records(&file).collect();
/// assert_eq!(got.len(), 1);
/// assert_eq!(got[0].as_ref().unwrap().data, b"test data");
/// ```
pub fn records(bytes: &[u8]) -> Records<&[u8]> {
    Records::new(bytes, bytes.len() as u64)
}

impl<R: std::io::Read> Records<R> {
    /// Reads the records of `len` bytes from `src`, streaming: memory is one
    /// record, and a length prefix is checked against the bytes left and the
    /// 1 GiB entry limit before anything is allocated for it.
    ///
    /// ```
    /// use xwal::import_go::Records;
    ///
    /// let huge = [0xF0, 0xFF, 0xFF, 0xFF, 0x0F, 0x08]; // claims a 4 GiB entry
    /// let mut it = Records::new(&huge[..], huge.len() as u64);
    /// assert!(it.next().unwrap().is_err());
    /// assert!(it.next().is_none() && it.io_error().is_none());
    /// ```
    pub fn new(src: R, len: u64) -> Self {
        Records {
            src,
            left: len,
            pos: 0,
            done: false,
            io_error: None,
        }
    }

    /// The read error that ended the iteration early, if one did.
    ///
    /// ```
    /// let it = xwal::import_go::records(b"");
    /// assert!(it.io_error().is_none());
    /// ```
    pub fn io_error(&self) -> Option<&std::io::Error> {
        self.io_error.as_ref()
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> std::result::Result<(), ()> {
        match self.src.read_exact(buf) {
            Ok(()) => {
                self.left -= buf.len() as u64;
                self.pos += buf.len() as u64;
                Ok(())
            }
            Err(e) => {
                self.io_error = Some(e);
                self.done = true;
                Err(())
            }
        }
    }

    /// True if every byte left is zero (read in bounded chunks).
    fn rest_is_zero(&mut self) -> std::result::Result<bool, ()> {
        let mut chunk = [0u8; 8192];
        let mut zero = true;
        while self.left > 0 {
            let n = self.left.min(chunk.len() as u64) as usize;
            self.read_exact(&mut chunk[..n])?;
            zero &= chunk[..n].iter().all(|&b| b == 0);
        }
        Ok(zero)
    }

    /// Reads the length prefix: `Err(problem)` if it is cut off or overflows.
    fn length_prefix(
        &mut self,
    ) -> std::result::Result<std::result::Result<(u64, usize), Problem>, ()> {
        let available = self.left;
        let mut prefix = [0u8; 10];
        let mut n = 0;
        loop {
            if n == prefix.len() {
                return Ok(Err(Problem::BadVarint));
            }
            if self.left == 0 {
                return Ok(Err(Problem::Truncated {
                    needed: available + 1,
                    available,
                }));
            }
            self.read_exact(&mut prefix[n..n + 1])?;
            n += 1;
            match uvarint(&prefix[..n]) {
                Ok(Some(v)) => return Ok(Ok(v)),
                Ok(None) => {}
                Err(()) => return Ok(Err(Problem::BadVarint)),
            }
        }
    }
}

/// Decodes an unsigned varint as Go's `binary.Uvarint` does.
/// `Ok(None)`: the bytes end inside it; `Err(())`: it overflows 64 bits.
fn uvarint(bytes: &[u8]) -> std::result::Result<Option<(u64, usize)>, ()> {
    let mut x = 0u64;
    let mut shift = 0u32;
    for (i, &b) in bytes.iter().enumerate() {
        if i == 10 {
            return Err(());
        }
        if b < 0x80 {
            if i == 9 && b > 1 {
                return Err(());
            }
            return Ok(Some((x | (u64::from(b) << shift), i + 1)));
        }
        x |= u64::from(b & 0x7f) << shift;
        shift += 7;
    }
    if bytes.len() >= 10 {
        return Err(());
    }
    Ok(None)
}

impl<R: std::io::Read> Iterator for Records<R> {
    type Item = std::result::Result<GoEntry, BadRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.left == 0 {
            return None;
        }
        let offset = self.pos;
        let available = self.left;
        let bad = |problem: Problem, lsn: Option<u64>| {
            Some(Err(BadRecord {
                offset,
                lsn,
                problem,
            }))
        };
        let (len, prefix) = match self.length_prefix().ok()? {
            Ok(v) => v,
            Err(problem) => {
                self.done = true;
                return bad(problem, None);
            }
        };
        if len == 0 {
            self.done = true;
            let problem = if self.rest_is_zero().ok()? {
                Problem::ZeroFill { len: available }
            } else {
                Problem::ZeroLength
            };
            return bad(problem, None);
        }
        let needed = (prefix as u64).saturating_add(len);
        if len > crate::format::MAX_ENTRY_SIZE_LIMIT + 32 {
            self.done = true;
            return bad(Problem::TooLong { len }, None);
        }
        if needed > available {
            self.done = true;
            return bad(Problem::Truncated { needed, available }, None);
        }
        // Checked against the bytes left and the entry limit: safe to size.
        let mut body = vec![0u8; len as usize];
        self.read_exact(&mut body).ok()?;
        let entry = match WalEntry::decode(body.as_slice()) {
            Ok(e) => e,
            Err(e) => return bad(Problem::Undecodable(e.to_string()), None),
        };
        let computed = go_crc(entry.lsn, &entry.data);
        if computed != entry.crc {
            let stored = entry.crc;
            return bad(Problem::CrcMismatch { stored, computed }, Some(entry.lsn));
        }
        if entry.lsn == 0 {
            return bad(Problem::ZeroLsn, Some(0));
        }
        Some(Ok(GoEntry {
            lsn: entry.lsn,
            data: entry.data,
            crc: entry.crc,
            offset,
        }))
    }
}

/// Everything read from one Go segment file.
///
/// # Examples
///
/// ```
/// use xwal::format::WalEntry;
/// use xwal::import_go::{encode_record, go_crc, parse_segment, ParsedSegment};
///
/// let good = encode_record(&WalEntry { lsn: 1, data: b"a".to_vec(), crc: go_crc(1, b"a") });
/// let parsed: ParsedSegment = parse_segment(&[good, vec![0; 8]].concat());
/// assert_eq!(parsed.entries.len(), 1);
/// assert_eq!(parsed.bad.len(), 1); // the zero-filled tail
/// assert_eq!(parse_segment(&[]), ParsedSegment::default());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedSegment {
    /// Entries whose CRC checked, in file order.
    pub entries: Vec<GoEntry>,
    /// Records that failed, in file order.
    pub bad: Vec<BadRecord>,
}

/// Reads every record of a Go segment file's bytes; see [`records`].
///
/// ```
/// let p = xwal::import_go::parse_segment(&[0x05, 0x08]); // length 5, one byte present
/// assert!(p.entries.is_empty());
/// assert!(p.bad[0].problem.is_torn_tail());
/// ```
pub fn parse_segment(bytes: &[u8]) -> ParsedSegment {
    let mut out = ParsedSegment::default();
    for r in records(bytes) {
        match r {
            Ok(e) => out.entries.push(e),
            Err(b) => out.bad.push(b),
        }
    }
    out
}

/// What a file name in a Go xwal directory means.
///
/// # Examples
///
/// ```
/// use xwal::import_go::{classify, GoFileKind};
///
/// let names = ["wal_1", "wal_0.checkpoint", "wal_2.garbage", "README"];
/// let segments: Vec<u64> = names
///     .iter()
///     .filter_map(|name| match classify(name) {
///         GoFileKind::Segment { number, .. } => Some(number),
///         GoFileKind::Garbage | GoFileKind::Other => None,
///     })
///     .collect();
/// assert_eq!(segments, [1, 0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoFileKind {
    /// A segment: `wal_<n>`, `wal_<n>.checkpoint`, or zero-padded `wal_00042`.
    Segment {
        /// Segment number.
        number: u64,
        /// Marked as a checkpoint.
        checkpoint: bool,
    },
    /// A file Go xwal consumed (`*.garbage`): skipped.
    Garbage,
    /// Anything else: skipped.
    Other,
}

/// Classifies a file name of a Go xwal directory.
///
/// ```
/// use xwal::import_go::{classify, GoFileKind};
/// assert_eq!(classify("wal_00042"), GoFileKind::Segment { number: 42, checkpoint: false });
/// assert_eq!(classify("wal_3.checkpoint"), GoFileKind::Segment { number: 3, checkpoint: true });
/// assert_eq!(classify("wal_3.garbage"), GoFileKind::Garbage);
/// assert_eq!(classify("notes.txt"), GoFileKind::Other);
/// ```
pub fn classify(name: &str) -> GoFileKind {
    if name.ends_with(".garbage") {
        return GoFileKind::Garbage;
    }
    let Some(rest) = name.strip_prefix("wal_") else {
        return GoFileKind::Other;
    };
    let (digits, checkpoint) = match rest.strip_suffix(".checkpoint") {
        Some(d) => (d, true),
        None => (rest, false),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return GoFileKind::Other;
    }
    match digits.parse() {
        Ok(number) => GoFileKind::Segment { number, checkpoint },
        Err(_) => GoFileKind::Other,
    }
}

/// A segment file of a Go xwal directory.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::import_go::list_dir;
///
/// let go = tempfile::tempdir().unwrap();
/// std::fs::write(go.path().join("wal_7.checkpoint"), [0u8; 3]).unwrap();
/// let file = &list_dir(go.path())?.files[0];
/// assert_eq!((file.number, file.checkpoint, file.size), (7, true, 3));
/// assert_eq!(file.path, go.path().join("wal_7.checkpoint"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoFile {
    /// Its path.
    pub path: PathBuf,
    /// Segment number (from the name).
    pub number: u64,
    /// Named `*.checkpoint`.
    pub checkpoint: bool,
    /// File size in bytes.
    pub size: u64,
}

impl GoFile {
    /// The file name, for messages.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::import_go::list_dir;
    ///
    /// let go = tempfile::tempdir().unwrap();
    /// std::fs::write(go.path().join("wal_00042"), b"").unwrap();
    /// let listed = list_dir(go.path())?;
    /// assert_eq!(listed.files[0].name(), "wal_00042");
    /// assert_eq!(listed.files[0].number, 42);
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Reads and parses the whole file.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::format::WalEntry;
    /// use xwal::import_go::{encode_record, go_crc, list_dir};
    ///
    /// let go = tempfile::tempdir().unwrap();
    /// let rec = |lsn: u64| {
    ///     encode_record(&WalEntry { lsn, data: vec![1], crc: go_crc(lsn, &[1]) })
    /// };
    /// std::fs::write(go.path().join("wal_0"), [rec(1), rec(2)].concat()).unwrap();
    /// let parsed = list_dir(go.path())?.files[0].read()?;
    /// assert_eq!(parsed.entries.iter().map(|e| e.lsn).collect::<Vec<_>>(), [1, 2]);
    /// assert!(parsed.bad.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn read(&self) -> Result<ParsedSegment> {
        let mut out = ParsedSegment::default();
        self.for_each_record(|r| {
            match r {
                Ok(e) => out.entries.push(e),
                Err(b) => out.bad.push(b),
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Streams the file's records to `f`, in order, one record in memory at a
    /// time (what [`plan`] and [`import`] use, so a file of any size costs one
    /// entry of memory). Reading stops after [`MAX_BAD_RECORDS_PER_FILE`] bad records.
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::format::WalEntry;
    /// use xwal::import_go::{encode_record, go_crc, list_dir};
    ///
    /// let go = tempfile::tempdir().unwrap();
    /// let rec = encode_record(&WalEntry { lsn: 1, data: vec![1], crc: go_crc(1, &[1]) });
    /// std::fs::write(go.path().join("wal_0"), rec).unwrap();
    /// let mut lsns = vec![];
    /// list_dir(go.path())?.files[0].for_each_record(|r| {
    ///     lsns.push(r.unwrap().lsn);
    ///     Ok(())
    /// })?;
    /// assert_eq!(lsns, [1]);
    /// # Ok(()) }
    /// ```
    pub fn for_each_record(
        &self,
        mut f: impl FnMut(std::result::Result<GoEntry, BadRecord>) -> Result<()>,
    ) -> Result<()> {
        let ctx = || format!("reading {}", self.path.display());
        let file = crate::io::fs::SeamReader::open(&self.path).map_err(|e| Error::io(ctx(), e))?;
        let len = file.len_bytes().map_err(|e| Error::io(ctx(), e))?;
        let mut it = Records::new(std::io::BufReader::with_capacity(1 << 16, file), len);
        let mut bad = 0;
        for r in it.by_ref() {
            bad += usize::from(r.is_err());
            f(r)?;
            if bad >= MAX_BAD_RECORDS_PER_FILE {
                break;
            }
        }
        match it.io_error {
            Some(e) => Err(Error::io(ctx(), e)),
            None => Ok(()),
        }
    }
}

/// Bad records listed per Go file; reading a file stops at the last of them
/// (the import is refused anyway, and a file of garbage must not grow the list
/// without bound).
pub const MAX_BAD_RECORDS_PER_FILE: usize = 1024;

/// The files of a Go xwal directory.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::import_go::list_dir;
///
/// let go = tempfile::tempdir().unwrap();
/// for name in ["wal_1", "wal_0.checkpoint", "wal_9.garbage", "notes.txt"] {
///     std::fs::write(go.path().join(name), b"").unwrap();
/// }
/// let listed = list_dir(go.path())?;
/// assert_eq!(listed.files.iter().map(|f| f.number).collect::<Vec<_>>(), [0, 1]);
/// assert_eq!(listed.garbage, [go.path().join("wal_9.garbage")]);
/// assert_eq!(listed.other, [go.path().join("notes.txt")]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoDir {
    /// Segment files in number order.
    pub files: Vec<GoFile>,
    /// `*.garbage` files (consumed by Go), not read.
    pub garbage: Vec<PathBuf>,
    /// Other files and directories, not read.
    pub other: Vec<PathBuf>,
}

/// Lists a Go xwal directory. Two files with the same number (`wal_42` and
/// `wal_00042`, or `wal_42` and `wal_42.checkpoint`) are an error, and so is a
/// segment name that is not a regular file (a symlink is not followed).
///
/// ```
/// let d = tempfile::tempdir_in(".").unwrap();
/// std::fs::write(d.path().join("wal_0.checkpoint"), b"").unwrap();
/// std::fs::write(d.path().join("wal_1"), b"").unwrap();
/// std::fs::write(d.path().join("wal_2.garbage"), b"").unwrap();
/// let listed = xwal::import_go::list_dir(d.path()).unwrap();
/// assert_eq!(listed.files.iter().map(|f| f.number).collect::<Vec<_>>(), vec![0, 1]);
/// assert_eq!(listed.garbage.len(), 1);
/// ```
pub fn list_dir(dir: &Path) -> Result<GoDir> {
    let listed =
        crate::io::fs::list(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    let mut out = GoDir::default();
    for path in listed {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        match classify(&name) {
            GoFileKind::Garbage => out.garbage.push(path),
            GoFileKind::Other => out.other.push(path),
            GoFileKind::Segment { number, checkpoint } => {
                let meta = crate::io::fs::metadata(&path)
                    .map_err(|e| Error::io(format!("stat {}", path.display()), e))?;
                if !meta.file_type().is_file() {
                    return Err(Error::UnsafeFile {
                        path,
                        reason: "a Go segment name that is not a regular file (symlinks are not followed)",
                    });
                }
                out.files.push(GoFile {
                    path,
                    number,
                    checkpoint,
                    size: meta.len(),
                });
            }
        }
    }
    out.files.sort_by_key(|f| f.number);
    out.garbage.sort();
    out.other.sort();
    for w in out.files.windows(2) {
        if w[0].number == w[1].number {
            return Err(Error::Config(format!(
                "Go directory {} has two files for segment {}: {} and {}; move one away",
                dir.display(),
                w[0].number,
                w[0].name(),
                w[1].name()
            )));
        }
    }
    Ok(out)
}

/// A bad record and the file it is in.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::format::WalEntry;
/// use xwal::import_go::{encode_record, plan, ImportOptions};
///
/// let go = tempfile::tempdir().unwrap();
/// let wrong_crc = encode_record(&WalEntry { lsn: 1, data: b"a".to_vec(), crc: 0 });
/// std::fs::write(go.path().join("wal_0"), wrong_crc).unwrap();
/// let checked = plan(go.path(), ImportOptions::default())?;
/// let problem = &checked.bad[0];
/// assert_eq!(problem.path, go.path().join("wal_0"));
/// assert_eq!(problem.record.offset, 0);
/// assert!(problem.to_string().contains("wal_0 offset 0 (LSN 1): CRC mismatch"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// The Go segment file.
    pub path: PathBuf,
    /// The record and what is wrong with it.
    pub record: BadRecord,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.path.display(), self.record)
    }
}

/// How to import.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::format::WalEntry;
/// use xwal::import_go::{encode_record, go_crc, plan, ImportOptions};
///
/// let go = tempfile::tempdir().unwrap();
/// let rec = encode_record(&WalEntry { lsn: 1, data: vec![1], crc: go_crc(1, &[1]) });
/// // The last file ends in a record cut short by a crash.
/// std::fs::write(go.path().join("wal_0"), [&rec[..], &[0x05, 0x08][..]].concat()).unwrap();
///
/// let strict = plan(go.path(), ImportOptions::default())?;
/// assert_eq!(strict.bad.len(), 1); // import would refuse this plan
/// let lenient = ImportOptions { drop_torn_tail: true, ..ImportOptions::default() };
/// let checked = plan(go.path(), lenient)?;
/// assert!(checked.bad.is_empty());
/// assert!(checked.dropped_tail.is_some());
/// assert_eq!(checked.entries, 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Accept checkpoint numbers that differ from Go's when they cannot be kept
    /// (see [`ImportPlan::numbering`]); the mapping is in the report.
    pub renumber: bool,
    /// Leave out a torn tail (a truncated record or zero fill at the end of the
    /// *last* file, what a crash during a Go write leaves) instead of refusing.
    pub drop_torn_tail: bool,
}

/// What one Go file holds, from the checking pass.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::format::{encoded_record_len, entry_body_len, WalEntry, BLOCK_SIZE};
/// use xwal::import_go::{encode_record, go_crc, plan, ImportOptions};
///
/// let go = tempfile::tempdir().unwrap();
/// let rec = |lsn: u64| encode_record(&WalEntry { lsn, data: vec![1], crc: go_crc(lsn, &[1]) });
/// std::fs::write(go.path().join("wal_0"), [rec(1), rec(2)].concat()).unwrap();
/// let file = &plan(go.path(), ImportOptions::default())?.files[0];
/// assert_eq!((file.entries, file.lsns), (2, Some((1, 2))));
/// let record = encoded_record_len(entry_body_len(1, 1)) as u64;
/// assert_eq!(file.xwal_bytes, BLOCK_SIZE as u64 + 2 * record);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// The file.
    pub file: GoFile,
    /// Entries whose CRC checked.
    pub entries: u64,
    /// First and last LSN of those entries.
    pub lsns: Option<(u64, u64)>,
    /// Bytes the entries (and skip records for LSN gaps before them) take as
    /// xwal records, with the segment header: the segment size that holds the file.
    pub xwal_bytes: u64,
}

/// The result of reading and checking a whole Go directory, before anything is written.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::format::WalEntry;
/// use xwal::import_go::{encode_record, go_crc, import, plan, ImportOptions};
/// use xwal::{Config, Error};
///
/// let go = tempfile::tempdir_in(".").unwrap();
/// let rec = |lsn: u64| encode_record(&WalEntry { lsn, data: vec![1], crc: go_crc(lsn, &[1]) });
/// // wal_0 is not a checkpoint yet wal_1 follows: xwal cannot keep Go's numbers.
/// std::fs::write(go.path().join("wal_0"), rec(1)).unwrap();
/// std::fs::write(go.path().join("wal_1.checkpoint"), rec(2)).unwrap();
/// let checked = plan(go.path(), ImportOptions::default())?;
/// assert!(checked.bad.is_empty());
/// assert!(checked.numbering.is_err());
///
/// let dest = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dest.path()).segment_size(1 << 20).max_entry_size(4096);
/// let refused = import(&checked, config.clone(), ImportOptions::default());
/// assert!(matches!(refused, Err(Error::Config(_))));
/// let renumber = ImportOptions { renumber: true, ..ImportOptions::default() };
/// assert_eq!(import(&checked, config, renumber)?.last_lsn, 2);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportPlan {
    /// The Go directory.
    pub dir: PathBuf,
    /// Its files, in number order.
    pub files: Vec<PlannedFile>,
    /// `*.garbage` files, not imported.
    pub garbage: Vec<PathBuf>,
    /// Other files, not imported.
    pub other: Vec<PathBuf>,
    /// Every bad record. [`import`] refuses a plan that has any.
    pub bad: Vec<FileProblem>,
    /// A torn tail left out under [`ImportOptions::drop_torn_tail`].
    pub dropped_tail: Option<FileProblem>,
    /// Entries to import.
    pub entries: u64,
    /// LSNs that Go skipped (gaps, including before the first entry); each becomes
    /// an xwal skip record ([`crate::Wal::inc_last_index`]) so LSNs stay the same.
    pub skipped_lsns: u64,
    /// The largest payload.
    pub max_entry_len: u64,
    /// `Ok(())` if every Go checkpoint keeps its number in xwal: files numbered
    /// 0, 1, 2, ... with every file but the last a checkpoint (xwal seals a
    /// segment only at a checkpoint). Otherwise why not.
    pub numbering: std::result::Result<(), String>,
}

impl ImportPlan {
    /// LSN of the last entry, 0 if none.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::format::WalEntry;
    /// use xwal::import_go::{encode_record, go_crc, plan, ImportOptions};
    ///
    /// let go = tempfile::tempdir().unwrap();
    /// assert_eq!(plan(go.path(), ImportOptions::default())?.last_lsn(), 0);
    /// let rec = encode_record(&WalEntry { lsn: 7, data: vec![1], crc: go_crc(7, &[1]) });
    /// std::fs::write(go.path().join("wal_0"), rec).unwrap();
    /// let checked = plan(go.path(), ImportOptions::default())?;
    /// assert_eq!(checked.last_lsn(), 7);
    /// assert_eq!(checked.skipped_lsns, 6); // LSNs 1 to 6 never held an entry
    /// # Ok(()) }
    /// ```
    pub fn last_lsn(&self) -> u64 {
        self.files
            .iter()
            .filter_map(|f| f.lsns.map(|l| l.1))
            .max()
            .unwrap_or(0)
    }
}

/// Reads and checks every file of the Go directory `dir`, one file at a time,
/// without writing anything: CRCs, framing, LSN order, checkpoint numbering.
///
/// ```
/// use xwal::import_go::{encode_record, go_crc, plan, ImportOptions};
/// let d = tempfile::tempdir_in(".").unwrap();
/// let rec = |lsn: u64| encode_record(&xwal::format::WalEntry { lsn, data: vec![1], crc: go_crc(lsn, &[1]) });
/// std::fs::write(d.path().join("wal_0.checkpoint"), [rec(1), rec(2)].concat()).unwrap();
/// std::fs::write(d.path().join("wal_1"), rec(5)).unwrap(); // LSNs 3 and 4 were skipped
/// let p = plan(d.path(), ImportOptions::default()).unwrap();
/// assert!(p.bad.is_empty() && p.numbering.is_ok());
/// assert_eq!((p.entries, p.skipped_lsns, p.last_lsn()), (3, 2, 5));
/// ```
pub fn plan(dir: &Path, opts: ImportOptions) -> Result<ImportPlan> {
    let listed = list_dir(dir)?;
    let mut out = ImportPlan {
        dir: dir.to_path_buf(),
        files: Vec::with_capacity(listed.files.len()),
        garbage: listed.garbage,
        other: listed.other,
        bad: Vec::new(),
        dropped_tail: None,
        entries: 0,
        skipped_lsns: 0,
        max_entry_len: 0,
        numbering: Ok(()),
    };
    let nfiles = listed.files.len();
    let mut prev: u64 = 0;
    for (i, file) in listed.files.into_iter().enumerate() {
        let _span = tracing::debug_span!("plan_go_file", file = %file.path.display()).entered();
        let mut bad = Vec::new();
        let mut xwal_bytes = crate::format::BLOCK_SIZE as u64;
        let mut lsns: Option<(u64, u64)> = None;
        let mut count = 0;
        file.for_each_record(|r| {
            let e = match r {
                Ok(e) => e,
                Err(b) => {
                    bad.push(b);
                    return Ok(());
                }
            };
            if e.lsn <= prev {
                bad.push(BadRecord {
                    offset: e.offset,
                    lsn: Some(e.lsn),
                    problem: Problem::LsnNotIncreasing { previous: prev },
                });
                return Ok(());
            }
            let gap = e.lsn - prev - 1;
            out.skipped_lsns += gap;
            xwal_bytes = xwal_bytes
                .saturating_add(gap.saturating_mul(crate::format::encoded_record_len(0) as u64));
            xwal_bytes += crate::format::encoded_record_len(crate::format::entry_body_len(
                e.lsn,
                e.data.len(),
            )) as u64;
            out.max_entry_len = out.max_entry_len.max(e.data.len() as u64);
            lsns = Some((lsns.map_or(e.lsn, |l| l.0), e.lsn));
            prev = e.lsn;
            count += 1;
            Ok(())
        })?;
        bad.sort_by_key(|b| b.offset);
        // A torn tail ends a file that holds records: bytes with no valid
        // record at all are not a write cut short, whatever their shape.
        if opts.drop_torn_tail
            && i + 1 == nfiles
            && count > 0
            && bad.last().is_some_and(|b| b.problem.is_torn_tail())
            && let Some(record) = bad.pop()
        {
            out.dropped_tail = Some(FileProblem {
                path: file.path.clone(),
                record,
            });
        }
        out.bad.extend(bad.into_iter().map(|record| FileProblem {
            path: file.path.clone(),
            record,
        }));
        if out.numbering.is_ok() {
            if file.number != i as u64 {
                out.numbering = Err(format!(
                    "Go segment numbers do not start at 0 without gaps ({} is file {} of the directory), but xwal numbers its segments from 0",
                    file.name(),
                    i
                ));
            } else if !file.checkpoint && i + 1 < nfiles {
                out.numbering = Err(format!(
                    "{} is not a checkpoint but later files follow it, and xwal seals a segment only at a checkpoint, so the numbers of later checkpoints would shift",
                    file.name()
                ));
            }
        }
        out.entries += count;
        out.files.push(PlannedFile {
            file,
            entries: count,
            lsns,
            xwal_bytes,
        });
    }
    Ok(out)
}

/// What an import did.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::format::WalEntry;
/// use xwal::import_go::{encode_record, go_crc, import, plan, ImportOptions};
/// use xwal::{Config, ReplayOptions, Wal};
///
/// let go = tempfile::tempdir_in(".").unwrap();
/// let big = vec![7u8; 10_000];
/// let rec = encode_record(&WalEntry { lsn: 3, data: big.clone(), crc: go_crc(3, &big) });
/// std::fs::write(go.path().join("wal_0"), rec).unwrap();
///
/// let dest = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dest.path()).segment_size(64 << 10).max_entry_size(4096);
/// let opts = ImportOptions::default();
/// let report = import(&plan(go.path(), opts)?, config.clone(), opts)?;
/// assert_eq!((report.entries, report.bytes, report.skipped_lsns), (1, 10_000, 2));
/// assert_eq!(report.max_entry_size, 10_000); // raised to fit the largest Go entry
///
/// // The new WAL keeps Go's LSNs; open it with the sizes the import used.
/// let config = config.max_entry_size(report.max_entry_size).segment_size(report.segment_size);
/// let (wal, _) = Wal::open(config)?;
/// let entries: Vec<_> = wal.replay(ReplayOptions::all())?.collect::<xwal::Result<Vec<_>>>()?;
/// assert_eq!((entries.len(), entries[0].lsn), (1, xwal::Lsn(3)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Entries appended.
    pub entries: u64,
    /// Payload bytes appended.
    pub bytes: u64,
    /// LSNs consumed without an entry (gaps in the Go log).
    pub skipped_lsns: u64,
    /// Last LSN of the new WAL.
    pub last_lsn: crate::Lsn,
    /// (Go checkpoint number, xwal checkpoint number), equal unless renumbered.
    pub checkpoints: Vec<(u64, crate::CheckpointId)>,
    /// The segment size used (large enough that no Go file is split).
    pub segment_size: u64,
    /// The max entry size used (at least the largest Go entry).
    pub max_entry_size: u64,
}

/// Imports a checked Go directory into a new xwal WAL at `config.dir`.
///
/// LSNs are kept: each entry is appended and the LSN xwal assigns is checked
/// against Go's; a gap in Go's LSNs is consumed with
/// [`crate::Wal::inc_last_index`]. After the last entry of a Go checkpoint
/// file, [`crate::Wal::create_checkpoint`] is called, and its number is checked
/// against Go's unless `opts.renumber`. `config.segment_size` and
/// `config.max_entry_size` are raised as needed so that each Go file fits one
/// xwal segment. The destination must be missing or empty. A plan with bad
/// records is refused ([`Error::Config`]); nothing is written then.
///
/// ```
/// use xwal::import_go::{encode_record, go_crc, import, plan, ImportOptions};
/// let go = tempfile::tempdir_in(".").unwrap();
/// let rec = |lsn: u64| encode_record(&xwal::format::WalEntry { lsn, data: vec![9], crc: go_crc(lsn, &[9]) });
/// std::fs::write(go.path().join("wal_0.checkpoint"), [rec(1), rec(2)].concat()).unwrap();
/// std::fs::write(go.path().join("wal_1"), rec(3)).unwrap();
/// let dest = tempfile::tempdir_in(".").unwrap();
/// let cfg = xwal::Config::new(dest.path()).segment_size(1 << 20).max_entry_size(4096);
/// let opts = ImportOptions::default();
/// let report = import(&plan(go.path(), opts).unwrap(), cfg, opts).unwrap();
/// assert_eq!((report.entries, report.last_lsn), (3, xwal::Lsn(3)));
/// assert_eq!(report.checkpoints, vec![(0, xwal::CheckpointId(0))]);
/// ```
pub fn import(plan: &ImportPlan, mut config: Config, opts: ImportOptions) -> Result<ImportReport> {
    use crate::format::{BLOCK_SIZE, align_up};
    let _span =
        tracing::info_span!("import_go", from = %plan.dir.display(), to = %config.dir.display())
            .entered();
    if let Some(first) = plan.bad.first() {
        return Err(Error::Config(format!(
            "the Go directory has {} bad record(s), the first: {first}; nothing was imported",
            plan.bad.len()
        )));
    }
    if let (Err(why), false) = (&plan.numbering, opts.renumber) {
        return Err(Error::Config(format!(
            "Go checkpoint numbers cannot be kept: {why}; import with renumbering to accept new numbers"
        )));
    }
    let marker = config.dir.join(crate::format::IMPORT_MARKER);
    match crate::io::fs::list(&config.dir) {
        Ok(listed) if crate::io::fs::exists(&marker) => {
            clear_interrupted_import(&config.dir, &listed)?
        }
        Ok(listed) => {
            if !listed.is_empty() {
                return Err(Error::Config(format!(
                    "destination {} is not empty: import into a new or empty directory",
                    config.dir.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::io(
                format!("reading destination {}", config.dir.display()),
                e,
            ));
        }
    }
    config.max_entry_size = config.max_entry_size.max(plan.max_entry_len.max(1));
    let largest_file = plan.files.iter().map(|f| f.xwal_bytes).max().unwrap_or(0);
    let need = largest_file.max(config.max_record_len() + BLOCK_SIZE as u64);
    config.segment_size = config
        .segment_size
        .max(align_up(need, BLOCK_SIZE as u64))
        .max(16 * BLOCK_SIZE as u64);
    let mut report = ImportReport {
        segment_size: config.segment_size,
        max_entry_size: config.max_entry_size,
        ..ImportReport::default()
    };
    // Marked until complete: a cut import is refused by every open, never
    // taken for a shorter log.
    let dir = config.dir.clone();
    crate::dir::create_dir(&dir)?;
    create_marker(&marker)?;
    config.importing = true;
    let (wal, _) = crate::Wal::open(config)?;
    let result = import_into(&wal, plan, opts, &mut report);
    let closed = wal.close();
    result?;
    closed?;
    crate::dir::remove_file(&marker)?;
    crate::dir::sync_dir(&dir)?;
    Ok(report)
}

/// Creates the empty marker and makes its name durable, as a restore does.
/// Created in place, not renamed in: a cut leaves it or nothing, never a
/// temporary file that would make the directory look not empty to the
/// import run again.
fn create_marker(marker: &Path) -> Result<()> {
    crate::io::fs::write_small(marker, b"")
        .map_err(|e| Error::io(format!("creating {}", marker.display()), e))?;
    crate::dir::sync_dir(marker.parent().unwrap_or(Path::new(".")))
}

/// Removes what an interrupted import wrote into `dir` (its marker says the
/// directory was empty when it began): segments, segments being prepared,
/// anchor indexes, the lock file. A file no import writes is refused, and
/// then nothing is removed.
fn clear_interrupted_import(dir: &Path, listed: &[std::path::PathBuf]) -> Result<()> {
    use crate::format::{FileKind, IMPORT_MARKER, LOCK_FILE, classify};
    let _lock = crate::dir::DirLock::acquire(dir)?;
    let ours = |name: &str| {
        name == IMPORT_MARKER
            || name == LOCK_FILE
            || classify(name) != FileKind::Foreign
            || (name.starts_with("wal-") && name.ends_with(".anchors"))
    };
    let names: Vec<(&std::path::PathBuf, String)> = listed
        .iter()
        .map(|p| {
            (
                p,
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    if let Some((p, _)) = names.iter().find(|(_, n)| !ours(n)) {
        return Err(Error::Config(format!(
            "destination {} holds an interrupted import and {}, which no import writes: nothing was changed",
            dir.display(),
            p.display()
        )));
    }
    for (p, n) in &names {
        if n != IMPORT_MARKER && n != LOCK_FILE {
            crate::dir::remove_file(p)?;
        }
    }
    crate::dir::sync_dir(dir)
}

fn import_into(
    wal: &crate::Wal,
    plan: &ImportPlan,
    opts: ImportOptions,
    report: &mut ImportReport,
) -> Result<()> {
    const WINDOW: usize = 1024;
    let mismatch = |what: &str, want: u64, got: u64, file: &GoFile| {
        Error::Config(format!(
            "importing {}: xwal assigned {what} {got} where Go has {want}",
            file.path.display()
        ))
    };
    let mut pending: std::collections::VecDeque<(u64, crate::CommitTicket)> =
        std::collections::VecDeque::with_capacity(WINDOW);
    let drain = |pending: &mut std::collections::VecDeque<(u64, crate::CommitTicket)>,
                 keep: usize,
                 file: &GoFile|
     -> Result<()> {
        while pending.len() > keep {
            if let Some((want, ticket)) = pending.pop_front() {
                let got = ticket.wait()?;
                if got != want {
                    return Err(mismatch("LSN", want, got.0, file));
                }
            }
        }
        Ok(())
    };
    let mut next = wal.last_index().0 + 1;
    for (i, planned) in plan.files.iter().enumerate() {
        let file = &planned.file;
        let _span = tracing::debug_span!("import_go_file", file = %file.path.display()).entered();
        let allowed_bad = usize::from(
            i + 1 == plan.files.len() && opts.drop_torn_tail && plan.dropped_tail.is_some(),
        );
        // The file was checked by `plan`; read again (streaming), it must say the same.
        let changed = |at: u64, last: u64| Error::Corruption {
            segment: crate::SegmentId(file.number),
            offset: at,
            reason: format!(
                "Go file {} changed since it was checked; nothing after LSN {last} was imported",
                file.path.display()
            ),
        };
        let (mut bad, mut entries) = (0usize, 0u64);
        file.for_each_record(|r| {
            let e = match r {
                Ok(e) => e,
                Err(b) => {
                    bad += 1;
                    if bad > allowed_bad {
                        return Err(changed(b.offset, wal.last_index().0));
                    }
                    return Ok(());
                }
            };
            entries += 1;
            while next < e.lsn {
                drain(&mut pending, 0, file)?;
                let got = wal.inc_last_index()?;
                if got != next {
                    return Err(mismatch("skipped LSN", next, got.0, file));
                }
                report.skipped_lsns += 1;
                next += 1;
            }
            report.entries += 1;
            report.bytes += e.data.len() as u64;
            pending.push_back((e.lsn, wal.submit(e.data)?));
            next = e.lsn + 1;
            drain(&mut pending, WINDOW, file)
        })?;
        if entries != planned.entries {
            return Err(changed(0, wal.last_index().0));
        }
        drain(&mut pending, 0, file)?;
        if file.checkpoint {
            let cp = wal.create_checkpoint()?;
            if !opts.renumber && cp != file.number {
                return Err(mismatch("checkpoint", file.number, cp.0, file));
            }
            report.checkpoints.push((file.number, cp));
        }
    }
    report.last_lsn = wal.last_index();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(lsn: u64, data: &[u8]) -> Vec<u8> {
        encode_record(&WalEntry {
            lsn,
            data: data.to_vec(),
            crc: go_crc(lsn, data),
        })
    }

    #[test]
    fn test_vector() {
        assert_eq!(go_crc(1, b"test data"), 4049352028);
    }

    #[test]
    fn uvarint_like_go() {
        assert_eq!(uvarint(&[0x00]), Ok(Some((0, 1))));
        assert_eq!(uvarint(&[0xbd, 0x02]), Ok(Some((317, 2))));
        assert_eq!(uvarint(&[0x80]), Ok(None));
        assert_eq!(uvarint(&[0xff; 10]), Err(()));
        assert_eq!(uvarint(&[0xff; 11]), Err(()));
        let mut max = vec![0xff; 9];
        max.push(0x01);
        assert_eq!(uvarint(&max), Ok(Some((u64::MAX, 10))));
        let mut over = vec![0xff; 9];
        over.push(0x02);
        assert_eq!(uvarint(&over), Err(()));
    }

    #[test]
    fn good_records_round_trip() {
        let mut f = rec(1, b"a");
        f.extend(rec(2, &vec![7u8; 300]));
        f.extend(rec(3, b""));
        let p = parse_segment(&f);
        assert!(p.bad.is_empty(), "{:?}", p.bad);
        assert_eq!(
            p.entries.iter().map(|e| e.lsn).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(p.entries[1].offset, rec(1, b"a").len() as u64);
        assert_eq!(p.entries[1].data, vec![7u8; 300]);
    }

    #[test]
    fn crc_mismatch_is_reported_and_reading_goes_on() {
        let mut f = rec(1, b"a");
        let mut r2 = rec(2, b"bb");
        let n = r2.len();
        r2[n - 7] ^= 0x01; // inside the data
        let at = f.len() as u64;
        f.extend(r2);
        f.extend(rec(3, b"c"));
        let p = parse_segment(&f);
        assert_eq!(p.entries.iter().map(|e| e.lsn).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(p.bad.len(), 1);
        assert_eq!(p.bad[0].offset, at);
        assert!(matches!(p.bad[0].problem, Problem::CrcMismatch { .. }));
    }

    #[test]
    fn truncated_and_zero_tails_end_the_file() {
        let mut f = rec(1, b"abc");
        let good = f.len();
        f.extend(&rec(2, b"defgh")[..4]);
        let p = parse_segment(&f);
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.bad[0].offset, good as u64);
        assert!(matches!(p.bad[0].problem, Problem::Truncated { .. }));

        let mut z = rec(1, b"abc");
        z.extend([0u8; 100]);
        let p = parse_segment(&z);
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.bad.len(), 1);
        assert_eq!(p.bad[0].problem, Problem::ZeroFill { len: 100 });

        let mut zl = rec(1, b"abc");
        zl.extend([0u8, 0, 5, 6]);
        let p = parse_segment(&zl);
        assert_eq!(p.bad[0].problem, Problem::ZeroLength);
    }

    #[test]
    fn huge_length_does_not_allocate() {
        let mut f = vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
        f.extend([1, 2, 3]);
        let p = parse_segment(&f);
        assert!(matches!(p.bad[0].problem, Problem::TooLong { .. }));
        // Within the limit but beyond the file: refused before sizing too.
        let mut g = vec![0x80, 0x80, 0x80, 0x01]; // 2 MiB
        g.extend([1, 2, 3]);
        assert!(matches!(
            parse_segment(&g).bad[0].problem,
            Problem::Truncated { .. }
        ));
    }

    #[test]
    fn names() {
        assert_eq!(
            classify("wal_0"),
            GoFileKind::Segment {
                number: 0,
                checkpoint: false
            }
        );
        assert_eq!(
            classify("wal_00042.checkpoint"),
            GoFileKind::Segment {
                number: 42,
                checkpoint: true
            }
        );
        assert_eq!(classify("wal_1.checkpoint.garbage"), GoFileKind::Garbage);
        assert_eq!(classify("wal_"), GoFileKind::Other);
        assert_eq!(classify("wal_x"), GoFileKind::Other);
        assert_eq!(classify("wal-00000000000000000000.seg"), GoFileKind::Other);
    }
}
