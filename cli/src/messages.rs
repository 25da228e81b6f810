//! TEMPORARY until the threshold messages have a wire encoding.
use anyhow::{bail, Result};
use migrationfhe::bfv;
use migrationfhe::threshold::{DecryptionShare, GaloisKeyShare, PublicKeyShare};
use std::sync::Arc;
type P = Arc<bfv::Parameters>;
pub fn pk_to_bytes(_: &PublicKeyShare, _: &P) -> Result<Vec<u8>> {
    bail!("threshold protocol messages have no wire encoding in this build yet")
}
pub fn galois_to_bytes(_: &GaloisKeyShare, _: &P) -> Result<Vec<u8>> {
    bail!("threshold protocol messages have no wire encoding in this build yet")
}
pub fn share_to_bytes(_: &DecryptionShare, _: &P) -> Result<Vec<u8>> {
    bail!("threshold protocol messages have no wire encoding in this build yet")
}
pub fn pk_from_bytes(_: &P, _: &[u8]) -> migrationfhe::Result<PublicKeyShare> {
    Err(migrationfhe::Error::ContextMismatch)
}
pub fn galois_from_bytes(_: &P, _: &[u8]) -> migrationfhe::Result<GaloisKeyShare> {
    Err(migrationfhe::Error::ContextMismatch)
}
pub fn share_from_bytes(_: &P, _: &[u8]) -> migrationfhe::Result<DecryptionShare> {
    Err(migrationfhe::Error::ContextMismatch)
}
pub fn pk_share_len(_: &PublicKeyShare, _: &P) -> Result<u64> {
    Ok(0)
}
pub fn galois_share_len(_: &GaloisKeyShare, _: &P) -> Result<u64> {
    Ok(0)
}
pub fn decryption_share_len(_: &DecryptionShare, _: &P) -> Result<u64> {
    Ok(0)
}
