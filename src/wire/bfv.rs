//! BFV plaintexts, ciphertexts and Galois key sets on the wire.

use super::io::{bits_for, packed_len, poly_len};
use super::keys::{check_galois, ksk_len, read_galois_set, write_galois_set};
use super::{invalid, Decode, Encode, ObjectKind, ParamDigest, Reader, Writer};
use crate::bfv::noise::NoiseEstimate;
use crate::bfv::{Ciphertext, GaloisKeys, Parameters, Plaintext};
use crate::error::{Error, Result, WireError};
use crate::math::poly::{Coeff, Ntt, Poly};
use crate::math::sampling::{expand_seed, Domain};
use crate::rlwe::DOMAIN_CIPHERTEXT;
use std::sync::Arc;

/// Flag bit of a ciphertext: `c_1` is sent as its seed.
const FLAG_SEEDED: u8 = 1;

impl Encode for Plaintext {
    type Context = ();
    const KIND: ObjectKind = ObjectKind::BFV_PLAINTEXT;
    fn param_digest(&self, _: &()) -> Result<ParamDigest> {
        Ok(ParamDigest::of_bfv(self.params()))
    }
    fn payload_len_hint(&self, _: &()) -> usize {
        packed_len(
            self.params().degree(),
            bits_for(self.params().plaintext_modulus()),
        )
    }
    fn encode_payload(&self, _: &(), w: &mut Writer) {
        w.packed(
            self.coefficients(),
            bits_for(self.params().plaintext_modulus()),
        );
    }
}

impl Decode for Plaintext {
    type Context = Arc<Parameters>;
    const KIND: ObjectKind = ObjectKind::BFV_PLAINTEXT;
    fn expected_digest(ctx: &Arc<Parameters>) -> Option<ParamDigest> {
        Some(ParamDigest::of_bfv(ctx))
    }
    fn decode_payload(ctx: &Arc<Parameters>, _: &ParamDigest, r: &mut Reader<'_>) -> Result<Self> {
        let t = ctx.plaintext_modulus();
        let coeffs = r.packed(ctx.degree(), bits_for(t), "plaintext coefficients")?;
        if coeffs.iter().any(|&c| c >= t) {
            return Err(WireError::CoefficientOutOfRange {
                what: "plaintext",
                prime_index: 0,
            }
            .into());
        }
        Plaintext::from_coefficients(ctx, coeffs)
    }
}

impl Plaintext {
    /// Encodes the plaintext (`docs/FORMAT.md`, kind `0x0010`): `N` coefficients packed at
    /// `ceil(log2 t)` bits.
    pub fn to_bytes(&self) -> Vec<u8> {
        super::encode_owned(self)
    }

    /// Decodes a plaintext for `params`.
    ///
    /// # Errors
    /// Any [`WireError`].
    pub fn from_bytes(params: &Arc<Parameters>, bytes: &[u8]) -> Result<Self> {
        super::decode(params, bytes)
    }
}

/// `c_1` of a fresh secret-key encryption, as `Ciphertext::encrypt_sk` expands it: uniform over
/// all primes read as NTT evaluations, then in coefficient form.
fn seeded_c1(params: &Parameters, seed: &[u8; 32]) -> Result<Poly<Coeff>> {
    let ctx = params.ring().ctx_q();
    let data = expand_seed(
        seed,
        Domain::new(DOMAIN_CIPHERTEXT, 0),
        ctx.moduli(),
        ctx.degree(),
    )?;
    Ok(Poly::<Ntt>::from_raw(ctx, ctx.len(), data).into_coeff())
}

/// Whether the ciphertext can be sent with `c_1` as its seed.
fn sends_seed(ct: &Ciphertext) -> Option<&[u8; 32]> {
    let seed = ct.seed.as_ref()?;
    let ok = ct.polys.len() == 2
        && ct.level() == ct.params.max_level()
        && seeded_c1(&ct.params, seed).is_ok_and(|c1| c1 == ct.polys[1]);
    ok.then_some(seed)
}

fn level_len(params: &Parameters, level: usize) -> usize {
    let ctx = params.ring().ctx_q();
    poly_len(&ctx.moduli()[..level], ctx.degree())
}

impl Encode for Ciphertext {
    type Context = ();
    const KIND: ObjectKind = ObjectKind::BFV_CIPHERTEXT;
    fn param_digest(&self, _: &()) -> Result<ParamDigest> {
        Ok(ParamDigest::of_bfv(&self.params))
    }
    fn payload_len_hint(&self, _: &()) -> usize {
        6 + 8 + 32 + self.polys.len() * level_len(&self.params, self.level())
    }
    #[allow(clippy::cast_possible_truncation)]
    fn encode_payload(&self, _: &(), w: &mut Writer) {
        let seed = sends_seed(self);
        w.u8(self.level() as u8); // <= 128 primes
        w.count(self.polys.len());
        w.u8(if seed.is_some() { FLAG_SEEDED } else { 0 });
        w.f64(self.noise.log2_std());
        if let Some(s) = seed {
            w.bytes(s);
            w.poly(&self.polys[0]);
        } else {
            for p in &self.polys {
                w.poly(p);
            }
        }
    }
}

impl Decode for Ciphertext {
    type Context = Arc<Parameters>;
    const KIND: ObjectKind = ObjectKind::BFV_CIPHERTEXT;
    fn expected_digest(ctx: &Arc<Parameters>) -> Option<ParamDigest> {
        Some(ParamDigest::of_bfv(ctx))
    }
    fn decode_payload(ctx: &Arc<Parameters>, _: &ParamDigest, r: &mut Reader<'_>) -> Result<Self> {
        let level = usize::from(r.u8("ciphertext level")?);
        if level == 0 || level > ctx.max_level() {
            return Err(invalid("ciphertext level outside 1..=L"));
        }
        let count = r.count(2, usize::MAX, 0, "number of ciphertext polynomials")?;
        let seeded = r.flags(FLAG_SEEDED, "ciphertext flags")? != 0;
        let log2_std = r.f64_finite("ciphertext noise estimate")?;
        let seed = if seeded {
            if count != 2 || level != ctx.max_level() {
                return Err(invalid(
                    "a seeded ciphertext has two polynomials at the top level",
                ));
            }
            Some(r.seed("ciphertext seed")?)
        } else {
            None
        };
        let sent = if seeded { 1 } else { count };
        r.need(
            sent.saturating_mul(level_len(ctx, level)),
            "ciphertext polynomials",
        )?;
        let cq = ctx.ring().ctx_q();
        let mut polys = Vec::with_capacity(count);
        for _ in 0..sent {
            polys.push(r.poly::<Coeff>(cq, level, "ciphertext")?);
        }
        if let Some(s) = &seed {
            polys.push(seeded_c1(ctx, s)?);
        }
        Ok(Self {
            params: Arc::clone(ctx),
            polys,
            seed,
            noise: NoiseEstimate::from_log2(log2_std),
        })
    }
}

impl Ciphertext {
    /// Encodes the ciphertext (`docs/FORMAT.md`, kind `0x0011`): level, degree, public noise
    /// estimate and polynomials; a fresh secret-key encryption sends `c_1` as its 32-byte
    /// seed. Switch it to a lower level first
    /// ([`Evaluator::mod_switch_to_level`](crate::bfv::Evaluator::mod_switch_to_level)) when
    /// only decryption remains, to send fewer primes.
    pub fn to_bytes(&self) -> Vec<u8> {
        super::encode_owned(self)
    }

    /// Decodes a ciphertext for `params`.
    ///
    /// # Errors
    /// Any [`WireError`].
    pub fn from_bytes(params: &Arc<Parameters>, bytes: &[u8]) -> Result<Self> {
        super::decode(params, bytes)
    }
}

impl Encode for GaloisKeys {
    type Context = Parameters;
    const KIND: ObjectKind = ObjectKind::BFV_GALOIS_KEYS;
    fn param_digest(&self, ctx: &Parameters) -> Result<ParamDigest> {
        for g in self.elements() {
            check_galois(ctx.ring(), self.get(g).ok_or(Error::ContextMismatch)?)?;
        }
        Ok(ParamDigest::of_ring(ctx.ring()))
    }
    fn payload_len_hint(&self, ctx: &Parameters) -> usize {
        let ring = ctx.ring();
        let d = ring.digits_at(ring.max_level()).len();
        4 + self.elements().count() * (8 + ksk_len(ring, d, false))
    }
    fn encode_payload(&self, ctx: &Parameters, w: &mut Writer) {
        let keys: Vec<_> = self.elements().filter_map(|g| self.get(g)).collect();
        write_galois_set(ctx.ring(), keys.into_iter(), w);
    }
}

impl Decode for GaloisKeys {
    type Context = Parameters;
    const KIND: ObjectKind = ObjectKind::BFV_GALOIS_KEYS;
    fn expected_digest(ctx: &Parameters) -> Option<ParamDigest> {
        Some(ParamDigest::of_ring(ctx.ring()))
    }
    fn decode_payload(ctx: &Parameters, _: &ParamDigest, r: &mut Reader<'_>) -> Result<Self> {
        let mut out = Self::default();
        for k in read_galois_set(ctx.ring(), r)? {
            out.insert(k);
        }
        Ok(out)
    }
}

impl GaloisKeys {
    /// Encodes the key set (`docs/FORMAT.md`, kind `0x0013`), keys in ascending element order.
    ///
    /// # Errors
    /// [`Error::ContextMismatch`] if a key does not belong to `params`.
    pub fn to_bytes(&self, params: &Parameters) -> Result<Vec<u8>> {
        super::encode(self, params)
    }

    /// Decodes a key set for `params`.
    ///
    /// # Errors
    /// Any [`WireError`].
    pub fn from_bytes(params: &Parameters, bytes: &[u8]) -> Result<Self> {
        super::decode(params, bytes)
    }
}
