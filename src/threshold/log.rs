//! The share log: what a party has already shared, so that it never shares twice for one input.
//!
//! Every share-producing function of [`threshold`](super) calls [`ShareLog::record`] with the
//! digest of its input (the ciphertext's `c_1` for decryption and re-encryption; the instance,
//! hence the common reference polynomial, for key generation and re-sharing) *before* it
//! computes the share, and fails if the log already holds it. Records are independent of the
//! party's secret and of the active set: one log per party, for all its committees.
//!
//! [`FileShareLog`] is append-only and `fsync`s each record before returning, so a share that was
//! returned is on disk even if the process dies right after. A record that was written but
//! whose share was never returned (a crash in between) only burns that input: the safe side.

use crate::error::{Result, ThresholdError};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A record of the inputs a party has produced shares for.
pub trait ShareLog {
    /// Records that a share of `protocol` for `input` is about to be produced, durably.
    ///
    /// # Errors
    /// [`ThresholdError::RepeatedShare`] if `input` is already recorded under the same class
    /// of protocol; [`ThresholdError::Log`] if the record cannot be persisted.
    fn record(&mut self, class: LogClass, input: &[u8; 32]) -> Result<()>;

    /// Whether `input` is recorded under `class`.
    fn contains(&self, class: LogClass, input: &[u8; 32]) -> bool;
}

/// Which inputs conflict: decryption and re-encryption shares of one `c_1` are the same
/// secret-dependent value `s_i c_1` and share one class; each key-generation round has its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogClass {
    /// Decryption or public-key switch of a ciphertext (`c_1` digest).
    Decryption,
    /// A key-generation share (instance id; public key, Galois key).
    KeyGen,
    /// Relinearisation key round 1 (instance id).
    RelinRound1,
    /// Relinearisation key round 2 (instance id).
    RelinRound2,
    /// Shamir re-sharing (instance id).
    Deal,
}

impl LogClass {
    fn tag(self) -> u8 {
        match self {
            Self::Decryption => 1,
            Self::KeyGen => 2,
            Self::RelinRound1 => 3,
            Self::RelinRound2 => 4,
            Self::Deal => 5,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Decryption => "decryption",
            Self::KeyGen => "key-generation",
            Self::RelinRound1 => "relinearisation round 1",
            Self::RelinRound2 => "relinearisation round 2",
            Self::Deal => "Shamir re-sharing",
        }
    }
}

fn key(class: LogClass, input: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"migrationfhe/threshold/log/v1");
    h.update([class.tag()]);
    h.update(input);
    h.finalize().into()
}

fn io_err(e: &std::io::Error) -> ThresholdError {
    ThresholdError::Log {
        reason: e.kind().to_string(),
    }
}

/// A persisted append-only log: one line `<64 hex digits>\n` per record, `fsync`ed before
/// [`record`](ShareLog::record) returns. Opening reads every record; a malformed or truncated
/// line is an error (inspect the file: it may mean a crash during a write, in which case the
/// share was never returned and the line can be completed by hand or the input abandoned).
#[derive(Debug)]
pub struct FileShareLog {
    path: PathBuf,
    file: File,
    seen: HashSet<[u8; 32]>,
}

impl FileShareLog {
    /// Opens (creating it if absent) the log at `path`.
    ///
    /// # Errors
    /// [`ThresholdError::Log`] if the file cannot be opened or read, or holds a malformed line.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| io_err(&e))?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(|e| io_err(&e))?;
        let mut seen = HashSet::new();
        if !text.is_empty() && !text.ends_with('\n') {
            return Err(ThresholdError::Log {
                reason: "truncated last record".into(),
            }
            .into());
        }
        for line in text.lines() {
            let k = parse_hex(line).ok_or_else(|| ThresholdError::Log {
                reason: "malformed record".into(),
            })?;
            seen.insert(k);
        }
        // Make sure the file itself is durable in its directory.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(Self { path, file, seen })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether there is no record.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

fn parse_hex(line: &str) -> Option<[u8; 32]> {
    let b = line.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        let hi = (b[2 * i] as char).to_digit(16)?;
        let lo = (b[2 * i + 1] as char).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

fn to_hex(k: &[u8; 32]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(65);
    for &x in k {
        s.push(char::from(HEX[usize::from(x >> 4)]));
        s.push(char::from(HEX[usize::from(x & 15)]));
    }
    s.push('\n');
    s
}

impl ShareLog for FileShareLog {
    fn record(&mut self, class: LogClass, input: &[u8; 32]) -> Result<()> {
        let k = key(class, input);
        if self.seen.contains(&k) {
            return Err(ThresholdError::RepeatedShare {
                protocol: class.name(),
            }
            .into());
        }
        self.file
            .write_all(to_hex(&k).as_bytes())
            .map_err(|e| io_err(&e))?;
        self.file.sync_data().map_err(|e| io_err(&e))?;
        self.seen.insert(k);
        Ok(())
    }

    fn contains(&self, class: LogClass, input: &[u8; 32]) -> bool {
        self.seen.contains(&key(class, input))
    }
}

/// An in-memory log, **for tests only**: it forgets everything when dropped, so a restarted
/// party would share again. Deployments use [`FileShareLog`].
#[derive(Debug, Default)]
pub struct InMemoryShareLogForTesting {
    seen: HashSet<[u8; 32]>,
}

impl InMemoryShareLogForTesting {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }
}

impl ShareLog for InMemoryShareLogForTesting {
    fn record(&mut self, class: LogClass, input: &[u8; 32]) -> Result<()> {
        if !self.seen.insert(key(class, input)) {
            return Err(ThresholdError::RepeatedShare {
                protocol: class.name(),
            }
            .into());
        }
        Ok(())
    }

    fn contains(&self, class: LogClass, input: &[u8; 32]) -> bool {
        self.seen.contains(&key(class, input))
    }
}
