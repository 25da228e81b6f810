//! [`Writer`] and bounded [`Reader`] of payload fields, with the bit-packing of residues.
//!
//! Every multi-byte integer is little-endian. A [`Reader`] checks each length against the bytes
//! that remain **before** it allocates or copies anything, and reports every shortfall as
//! [`WireError::Truncated`] naming the field; it never panics.

use crate::error::{Result, WireError};
use crate::math::modulus::Modulus;
use crate::math::poly::{Context, Poly, Representation};
use std::sync::Arc;
use zeroize::Zeroize;

/// Bits needed for a value below `q`: `ceil(log2 q)` (1 for `q <= 2`).
pub fn bits_for(q: u64) -> u32 {
    (64 - q.saturating_sub(1).leading_zeros()).max(1)
}

/// Bytes of `count` values packed at `bits` bits each (padded to a whole byte).
pub fn packed_len(count: usize, bits: u32) -> usize {
    (count * bits as usize).div_ceil(8)
}

/// Bytes of a polynomial of degree `n` over `moduli` (one packed limb per prime).
pub fn poly_len(moduli: &[Modulus], n: usize) -> usize {
    moduli
        .iter()
        .map(|q| packed_len(n, bits_for(q.value())))
        .sum()
}

/// Appends payload fields to a byte vector.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// A writer whose buffer starts with `capacity` bytes reserved.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// A count, as a `u32` (what [`Reader::count`] reads).
    ///
    /// # Panics
    /// In debug builds, above `u32::MAX` (no encodable collection is that long: every element
    /// takes at least a byte).
    pub fn count(&mut self, c: usize) {
        debug_assert!(u32::try_from(c).is_ok());
        self.u32(u32::try_from(c).unwrap_or(u32::MAX));
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// One byte.
    pub fn u8(&mut self, x: u8) {
        self.buf.push(x);
    }

    /// A `u16`, little-endian.
    pub fn u16(&mut self, x: u16) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }

    /// A `u32`, little-endian.
    pub fn u32(&mut self, x: u32) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }

    /// A `u64`, little-endian.
    pub fn u64(&mut self, x: u64) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }

    /// An `f64` as its IEEE 754 bits, little-endian.
    pub fn f64(&mut self, x: f64) {
        self.u64(x.to_bits());
    }

    /// Raw bytes (a seed, a digest).
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Values `< 2^bits` packed LSB-first at `bits` bits each, the last byte padded with zero
    /// bits (see `docs/FORMAT.md`, "Packed residues").
    pub fn packed(&mut self, values: &[u64], bits: u32) {
        debug_assert!((1..=64).contains(&bits));
        let mut acc: u128 = 0;
        let mut have = 0u32;
        self.buf.reserve(packed_len(values.len(), bits));
        for &v in values {
            debug_assert!(bits == 64 || v >> bits == 0);
            acc |= u128::from(v) << have;
            have += bits;
            while have >= 8 {
                self.buf.push(acc.to_le_bytes()[0]);
                acc >>= 8;
                have -= 8;
            }
        }
        if have > 0 {
            self.buf.push(acc.to_le_bytes()[0]);
        }
        acc.zeroize();
    }

    /// Limb-major residues over `moduli` (`moduli.len() * n` values), each limb packed at
    /// `ceil(log2 q_i)` bits.
    pub fn residues(&mut self, data: &[u64], moduli: &[Modulus], n: usize) {
        for (limb, q) in data.chunks_exact(n).zip(moduli) {
            self.packed(limb, bits_for(q.value()));
        }
    }

    /// A polynomial's residues (its representation and number of primes are not written: the
    /// object's layout fixes them).
    pub fn poly<R: Representation>(&mut self, p: &Poly<R>) {
        let ctx = p.context();
        self.residues(p.residues(), &ctx.moduli()[..p.limbs()], ctx.degree());
    }

    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Zeroizes the buffer (for writers that held secret data and are dropped on an error
    /// path).
    pub fn zeroize(&mut self) {
        self.buf.zeroize();
    }
}

/// Reads payload fields from a byte slice, checking every length first.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Fails with [`WireError::Truncated`] unless `len` more bytes are available.
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming `what`.
    pub fn need(&self, len: usize, what: &'static str) -> Result<()> {
        if len > self.remaining() {
            return Err(WireError::Truncated {
                what,
                needed: len as u64,
                available: self.remaining() as u64,
            }
            .into());
        }
        Ok(())
    }

    /// The next `len` bytes.
    ///
    /// # Errors
    /// [`WireError::Truncated`] if fewer remain.
    pub fn bytes(&mut self, len: usize, what: &'static str) -> Result<&'a [u8]> {
        self.need(len, what)?;
        let out = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    fn array<const K: usize>(&mut self, what: &'static str) -> Result<[u8; K]> {
        let mut a = [0u8; K];
        a.copy_from_slice(self.bytes(K, what)?);
        Ok(a)
    }

    /// One byte.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A little-endian `u16`.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn u16(&mut self, what: &'static str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    /// A little-endian `u32`.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn u32(&mut self, what: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// A little-endian `u64`.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn u64(&mut self, what: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// An `f64` from its little-endian IEEE 754 bits, required to be finite.
    ///
    /// # Errors
    /// [`WireError::Truncated`]; [`WireError::Invalid`] naming `what` for NaN or infinity.
    pub fn f64_finite(&mut self, what: &'static str) -> Result<f64> {
        let x = f64::from_bits(self.u64(what)?);
        if !x.is_finite() {
            return Err(WireError::Invalid { what }.into());
        }
        Ok(x)
    }

    /// A 32-byte seed.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn seed(&mut self, what: &'static str) -> Result<[u8; 32]> {
        self.array(what)
    }

    /// A flag byte that must be one of the bits in `allowed` (unknown bits are refused).
    ///
    /// # Errors
    /// [`WireError::Truncated`]; [`WireError::Invalid`] for an unknown bit.
    pub fn flags(&mut self, allowed: u8, what: &'static str) -> Result<u8> {
        let f = self.u8(what)?;
        if f & !allowed != 0 {
            return Err(WireError::Invalid { what }.into());
        }
        Ok(f)
    }

    /// A count (`u32`) in `min..=max`, of elements taking at least `min_bytes_each` bytes each:
    /// refused before any allocation if the remaining input cannot hold that many.
    ///
    /// # Errors
    /// [`WireError::TooLarge`] above `max`, [`WireError::Invalid`] below `min`,
    /// [`WireError::Truncated`] if the input is too short for that many elements.
    pub fn count(
        &mut self,
        min: usize,
        max: usize,
        min_bytes_each: usize,
        what: &'static str,
    ) -> Result<usize> {
        let c = self.u32(what)?;
        let c = usize::try_from(c).unwrap_or(usize::MAX);
        if c > max {
            return Err(WireError::TooLarge {
                what,
                declared: c as u64,
                max: max as u64,
            }
            .into());
        }
        if c < min {
            return Err(WireError::Invalid { what }.into());
        }
        self.need(c.saturating_mul(min_bytes_each), what)?;
        Ok(c)
    }

    /// `count` values packed at `bits` bits each (`1..=64`); the padding bits of the last byte
    /// must be zero. The values are **not** range-checked here (see [`Reader::residues`]).
    ///
    /// # Errors
    /// [`WireError::Truncated`]; [`WireError::Invalid`] for non-zero padding.
    pub fn packed(&mut self, count: usize, bits: u32, what: &'static str) -> Result<Vec<u64>> {
        let bits = bits.clamp(1, 64);
        let len = packed_len(count, bits);
        let src = self.bytes(len, what)?;
        let mut out = Vec::with_capacity(count);
        let mask: u128 = (1u128 << bits) - 1;
        let mut acc: u128 = 0;
        let mut have = 0u32;
        let mut it = src.iter();
        for _ in 0..count {
            while have < bits {
                let b = it.next().copied().unwrap_or(0);
                acc |= u128::from(b) << have;
                have += 8;
            }
            #[allow(clippy::cast_possible_truncation)] // masked to at most 64 bits
            out.push((acc & mask) as u64);
            acc >>= bits;
            have -= bits;
        }
        let bad_padding = acc != 0 || it.next().is_some();
        acc.zeroize();
        if bad_padding {
            out.zeroize();
            return Err(WireError::Invalid {
                what: "non-zero padding bits after packed values",
            }
            .into());
        }
        Ok(out)
    }

    /// Limb-major residues over `moduli`, `n` per limb, each packed at `ceil(log2 q_i)` bits and
    /// checked `< q_i`.
    ///
    /// # Errors
    /// [`WireError::Truncated`] (checked for the whole polynomial before allocating);
    /// [`WireError::CoefficientOutOfRange`] naming `what` and the prime index.
    pub fn residues(
        &mut self,
        moduli: &[Modulus],
        n: usize,
        what: &'static str,
    ) -> Result<Vec<u64>> {
        self.need(poly_len(moduli, n), what)?;
        let mut out = Vec::with_capacity(moduli.len() * n);
        for (i, q) in moduli.iter().enumerate() {
            let limb = self.packed(n, bits_for(q.value()), what)?;
            if limb.iter().any(|&x| x >= q.value()) {
                return Err(WireError::CoefficientOutOfRange {
                    what,
                    prime_index: i,
                }
                .into());
            }
            out.extend_from_slice(&limb);
        }
        Ok(out)
    }

    /// A polynomial over the first `limbs` primes of `ctx` (`1 <= limbs <= ctx.len()`, which the
    /// caller has validated), in the representation `R` the layout fixes.
    ///
    /// # Errors
    /// As [`Reader::residues`]; [`WireError::Invalid`] for `limbs` outside the context.
    pub fn poly<R: Representation>(
        &mut self,
        ctx: &Arc<Context>,
        limbs: usize,
        what: &'static str,
    ) -> Result<Poly<R>> {
        if limbs == 0 || limbs > ctx.len() {
            return Err(WireError::Invalid {
                what: "number of primes outside the parameters",
            }
            .into());
        }
        let data = self.residues(&ctx.moduli()[..limbs], ctx.degree(), what)?;
        Ok(Poly::from_raw(ctx, limbs, data))
    }

    /// Succeeds only if every byte was read.
    ///
    /// # Errors
    /// [`WireError::TrailingBytes`] otherwise.
    pub fn finish(self) -> Result<()> {
        if self.remaining() != 0 {
            return Err(WireError::TrailingBytes {
                extra: self.remaining() as u64,
            }
            .into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn bits_for_values() {
        assert_eq!(bits_for(2), 1);
        assert_eq!(bits_for(3), 2);
        assert_eq!(bits_for(4), 2);
        assert_eq!(bits_for(5), 3);
        assert_eq!(bits_for((1 << 40) + 1), 41);
        assert_eq!(bits_for((1 << 40) - 87), 40);
        assert_eq!(bits_for(u64::MAX), 64);
    }

    #[test]
    fn packing_round_trips_at_every_width() {
        for bits in 1..=64u32 {
            let mask = if bits == 64 {
                u64::MAX
            } else {
                (1 << bits) - 1
            };
            let values: Vec<u64> = (0..37u64)
                .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) & mask)
                .collect();
            let mut w = Writer::default();
            w.packed(&values, bits);
            let bytes = w.into_bytes();
            assert_eq!(bytes.len(), packed_len(values.len(), bits));
            let mut r = Reader::new(&bytes);
            assert_eq!(r.packed(values.len(), bits, "test").unwrap(), values);
            r.finish().unwrap();
        }
    }

    #[test]
    fn nonzero_padding_is_refused() {
        // Three 3-bit values take 9 bits: 7 padding bits in the second byte.
        let mut r = Reader::new(&[0, 0b10]);
        assert!(matches!(
            r.packed(3, 3, "test"),
            Err(Error::Wire(WireError::Invalid { .. }))
        ));
    }

    #[test]
    fn reader_refuses_before_reading() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(
            r.u32("field"),
            Err(Error::Wire(WireError::Truncated {
                what: "field",
                needed: 4,
                available: 3
            }))
        );
        // A count of 65535 elements of 1000 bytes each in 2 remaining bytes.
        let mut r = Reader::new(&[0xff, 0xff, 0, 0, 0, 0]);
        assert!(matches!(
            r.count(0, usize::MAX, 1000, "keys"),
            Err(Error::Wire(WireError::Truncated { .. }))
        ));
    }
}
