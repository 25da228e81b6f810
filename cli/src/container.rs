//! The tool's file container: a JSON header (what the file is, who made it, for which study)
//! followed by binary blobs, each one object in the library's wire format (ciphertexts, keys,
//! protocol shares). Parsing checks every length against the remaining input before using it.
//!
//! Layout: `MFHEcli1` ‖ u32 LE header length ‖ header (JSON) ‖ u32 LE blob count ‖
//! (u64 LE length ‖ bytes)*.

use anyhow::{bail, Context, Result};
use serde::{de::DeserializeOwned, Serialize};
use std::path::Path;

const MAGIC: &[u8; 8] = b"MFHEcli1";

/// Encodes a header and blobs.
pub fn encode<H: Serialize>(header: &H, blobs: &[Vec<u8>]) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(header)?;
    let mut out =
        Vec::with_capacity(16 + json.len() + blobs.iter().map(|b| b.len() + 8).sum::<usize>());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&u32::try_from(json.len())?.to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&u32::try_from(blobs.len())?.to_le_bytes());
    for b in blobs {
        out.extend_from_slice(&(b.len() as u64).to_le_bytes());
        out.extend_from_slice(b);
    }
    Ok(out)
}

fn take<'a>(buf: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8]> {
    if buf.len() < n {
        bail!("truncated file: {what} needs {n} bytes, {} left", buf.len());
    }
    let (head, tail) = buf.split_at(n);
    *buf = tail;
    Ok(head)
}

/// Decodes a header and blob slices.
pub fn decode<H: DeserializeOwned>(bytes: &[u8]) -> Result<(H, Vec<&[u8]>)> {
    let mut buf = bytes;
    if take(&mut buf, 8, "magic")? != MAGIC {
        bail!("not a migrationfhe file (bad magic)");
    }
    let len = u32::from_le_bytes(take(&mut buf, 4, "header length")?.try_into()?) as usize;
    let header: H = serde_json::from_slice(take(&mut buf, len, "header")?).context("bad header")?;
    let count = u32::from_le_bytes(take(&mut buf, 4, "blob count")?.try_into()?) as usize;
    if count > buf.len() / 8 {
        bail!("blob count {count} larger than the file allows");
    }
    let mut blobs = Vec::with_capacity(count);
    for i in 0..count {
        let n = u64::from_le_bytes(take(&mut buf, 8, "blob length")?.try_into()?);
        let n = usize::try_from(n).context("blob too large")?;
        blobs.push(take(&mut buf, n, &format!("blob {i}"))?);
    }
    if !buf.is_empty() {
        bail!("{} trailing bytes", buf.len());
    }
    Ok((header, blobs))
}

/// Writes a container atomically.
pub fn write<H: Serialize>(path: &Path, header: &H, blobs: &[Vec<u8>]) -> Result<()> {
    crate::fsio::write_atomic(path, &encode(header, blobs)?)
}

/// Reads a whole container file (the caller decodes it with [`decode`]).
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let bytes = encode(&("x", 3), &[vec![1, 2, 3], vec![]]).unwrap();
        let (h, blobs): ((String, u32), _) = decode(&bytes).unwrap();
        assert_eq!(h, ("x".to_owned(), 3));
        assert_eq!(blobs, vec![&[1u8, 2, 3][..], &[][..]]);
        for cut in 0..bytes.len() {
            assert!(decode::<(String, u32)>(&bytes[..cut]).is_err());
        }
    }
}
