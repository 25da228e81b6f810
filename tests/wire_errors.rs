//! Hostile and corrupt inputs to the wire decoders (`docs/FORMAT.md`): each kind of damage is
//! refused with its specific error. Where a test alters a field on purpose it recomputes the
//! checksum (SHA-256 of everything before it, as the format specifies), so that the decoder's
//! own validation, not the checksum, is what refuses the input.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use migrationfhe::ckks;
use migrationfhe::error::WireError;
use migrationfhe::rlwe::{GaloisKey, PublicKey, RelinearizationKey, RlweParams, SecretKey};
use migrationfhe::wire::{bits_for, ParameterLimits, FORMAT_VERSION, HEADER_LEN};
use migrationfhe::{bfv, fuzzing, Error};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};

/// Recomputes the trailing checksum of a frame.
fn reseal(mut b: Vec<u8>) -> Vec<u8> {
    let body = b.len() - 32;
    let sum = Sha256::digest(&b[..body]);
    b[body..].copy_from_slice(&sum);
    b
}

/// Applies `f` to the bytes, then reseals.
fn edit(b: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut v = b.to_vec();
    f(&mut v);
    reseal(v)
}

fn wire_err<T: std::fmt::Debug>(r: Result<T, Error>) -> WireError {
    match r {
        Err(Error::Wire(e)) => e,
        other => panic!("expected a wire error, got {other:?}"),
    }
}

struct Objects {
    bfv_ct: Vec<u8>,
    bfv_ct_seeded: Vec<u8>,
    bfv_pt: Vec<u8>,
    ckks_ct: Vec<u8>,
    rlk: Vec<u8>,
    gks: Vec<u8>,
    sk: Vec<u8>,
}

fn objects() -> Objects {
    let f = fuzzing::wire_fixture();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let pt = bfv::Plaintext::encode(&f.bfv, &[1, 2, 3]).unwrap();
    let pk = PublicKey::generate(&f.bfv_sk, &mut rng).unwrap();
    let ct = bfv::Ciphertext::encrypt_pk(&pk, &pt, &mut rng).unwrap();
    let ct_s = bfv::Ciphertext::encrypt_sk(&f.bfv_sk, &pt, &mut rng).unwrap();
    let x = f.ckks.encode_real_top(&[0.5]).unwrap();
    let cct = ckks::encrypt_symmetric(&f.ckks, &f.ckks_sk, &x, &mut rng).unwrap();
    let cev = ckks::Evaluator::new(&f.ckks);
    let cct = cev.mul_const(&cct, 2.0).unwrap(); // not seeded any more
    Objects {
        bfv_ct: ct.to_bytes(),
        bfv_ct_seeded: ct_s.to_bytes(),
        bfv_pt: pt.to_bytes(),
        ckks_ct: cct.to_bytes(&f.ckks).unwrap(),
        rlk: f.bfv_rlk.to_bytes(f.bfv.ring()).unwrap(),
        gks: f.bfv_gk.to_bytes(&f.bfv).unwrap(),
        sk: f.bfv_sk.to_bytes().to_vec(),
    }
}

fn decode_bfv_ct(b: &[u8]) -> Result<bfv::Ciphertext, Error> {
    bfv::Ciphertext::from_bytes(&fuzzing::wire_fixture().bfv, b)
}

#[test]
fn truncated_inputs_are_refused() {
    let o = objects();
    let b = &o.bfv_ct;
    for cut in [0, 1, 10, 47] {
        assert_eq!(
            wire_err(decode_bfv_ct(&b[..cut])),
            WireError::Truncated {
                what: "header",
                needed: 48,
                available: cut as u64
            }
        );
    }
    for cut in [48, 100, b.len() - 33, b.len() - 1] {
        assert_eq!(
            wire_err(decode_bfv_ct(&b[..cut])),
            WireError::Truncated {
                what: "payload",
                needed: b.len() as u64,
                available: cut as u64
            }
        );
    }
}

#[test]
fn huge_declared_lengths_fail_fast() {
    // 10 bytes that start a header: refused before anything else.
    let ten = b"MFHE\x01\x00\x11\x00\x00\x00";
    assert!(matches!(
        wire_err(decode_bfv_ct(ten)),
        WireError::Truncated { what: "header", .. }
    ));
    // A whole header declaring a 1 TiB payload: refused from the lengths alone.
    let o = objects();
    let mut h = o.bfv_ct[..HEADER_LEN].to_vec();
    h[40..48].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert_eq!(
        wire_err(decode_bfv_ct(&h)),
        WireError::Truncated {
            what: "payload",
            needed: (1 << 40) + 80,
            available: 48
        }
    );
    // u64::MAX does not overflow the length arithmetic.
    h[40..48].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        wire_err(decode_bfv_ct(&h)),
        WireError::Truncated {
            what: "payload",
            ..
        }
    ));
    // A key set declaring 2^32 - 1 keys in a few bytes: refused by the count check.
    let f = fuzzing::wire_fixture();
    let b = edit(&o.gks, |v| {
        v[48..52].copy_from_slice(&u32::MAX.to_le_bytes())
    });
    assert_eq!(
        wire_err(bfv::GaloisKeys::from_bytes(&f.bfv, &b)),
        WireError::TooLarge {
            what: "number of Galois keys",
            declared: 4_294_967_295,
            max: 16
        }
    );
    // 16 keys declared, fewer present: refused before reading them.
    let b = edit(&o.gks, |v| v[48..52].copy_from_slice(&16u32.to_le_bytes()));
    assert!(matches!(
        wire_err(bfv::GaloisKeys::from_bytes(&f.bfv, &b)),
        WireError::Truncated {
            what: "number of Galois keys",
            ..
        }
    ));
}

#[test]
fn extended_inputs_are_refused() {
    let o = objects();
    let mut b = o.bfv_ct.clone();
    b.push(0);
    assert_eq!(
        wire_err(decode_bfv_ct(&b)),
        WireError::TrailingBytes { extra: 1 }
    );
    b.extend_from_slice(&[0; 9]);
    assert_eq!(
        wire_err(decode_bfv_ct(&b)),
        WireError::TrailingBytes { extra: 10 }
    );
    // A payload longer than its contents (length field and checksum consistent).
    let b = edit(&o.bfv_ct, |v| {
        let body = v.len() - 32;
        v.insert(body, 0);
        let len = u64::from_le_bytes(v[40..48].try_into().unwrap()) + 1;
        v[40..48].copy_from_slice(&len.to_le_bytes());
    });
    assert_eq!(
        wire_err(decode_bfv_ct(&b)),
        WireError::TrailingBytes { extra: 1 }
    );
}

#[test]
fn bit_flips_are_caught_by_the_checksum() {
    let o = objects();
    for b in [&o.bfv_ct, &o.ckks_ct, &o.rlk, &o.sk] {
        // Every bit after the version field, the checksum included (the length field's flips
        // change the framing instead; see below).
        for pos in (6..b.len()).filter(|p| !(40..48).contains(p)).step_by(7) {
            for bit in [0, 5] {
                let mut v = b.clone();
                v[pos] ^= 1 << bit;
                let r = if b == &o.ckks_ct {
                    ckks::Ciphertext::from_bytes(&fuzzing::wire_fixture().ckks, &v).map(|_| ())
                } else if b == &o.rlk {
                    RelinearizationKey::from_bytes(fuzzing::wire_fixture().bfv.ring(), &v)
                        .map(|_| ())
                } else if b == &o.sk {
                    SecretKey::from_bytes(fuzzing::wire_fixture().bfv.ring(), &v).map(|_| ())
                } else {
                    decode_bfv_ct(&v).map(|_| ())
                };
                assert_eq!(
                    wire_err(r),
                    WireError::ChecksumMismatch,
                    "byte {pos} bit {bit}"
                );
            }
        }
    }
    let mut v = o.bfv_ct.clone();
    v[40] ^= 1;
    assert!(matches!(
        wire_err(decode_bfv_ct(&v)),
        WireError::Truncated { .. } | WireError::TrailingBytes { .. }
    ));
}

#[test]
fn wrong_magic_version_and_kind_are_refused() {
    let o = objects();
    let b = edit(&o.bfv_ct, |v| v[0] = b'X');
    assert_eq!(wire_err(decode_bfv_ct(&b)), WireError::BadMagic);
    let b = edit(&o.bfv_ct, |v| v[4..6].copy_from_slice(&2u16.to_le_bytes()));
    assert_eq!(
        wire_err(decode_bfv_ct(&b)),
        WireError::UnsupportedVersion {
            found: 2,
            supported: FORMAT_VERSION
        }
    );
    // A plaintext offered as a ciphertext, and the kind field rewritten.
    assert_eq!(
        wire_err(decode_bfv_ct(&o.bfv_pt)),
        WireError::WrongKind {
            expected: "BFV ciphertext",
            found: 0x0010
        }
    );
    let f = fuzzing::wire_fixture();
    assert_eq!(
        wire_err(RelinearizationKey::from_bytes(f.bfv.ring(), &o.gks)),
        WireError::WrongKind {
            expected: "relinearisation key",
            found: 0x0013
        }
    );
    assert_eq!(
        wire_err(GaloisKey::from_bytes(f.bfv.ring(), &o.rlk)),
        WireError::WrongKind {
            expected: "Galois key",
            found: 0x0032
        }
    );
    assert_eq!(
        wire_err(ckks::Ciphertext::from_bytes(&f.ckks, &o.bfv_ct)),
        WireError::WrongKind {
            expected: "CKKS ciphertext",
            found: 0x0011
        }
    );
}

#[test]
fn wrong_parameters_are_refused() {
    let o = objects();
    let f = fuzzing::wire_fixture();
    // Same ring, another plaintext modulus: the BFV digest differs.
    let other = bfv::Parameters::insecure_for_testing(16, 193, 3).unwrap();
    assert_eq!(
        wire_err(bfv::Ciphertext::from_bytes(&other, &o.bfv_ct)),
        WireError::ParameterMismatch
    );
    // Keys are bound to the ring: another ring refuses them.
    let ring2 = RlweParams::new(
        16,
        &f.bfv.ring().q_moduli()[..2],
        &f.bfv.ring().p_moduli(),
        1,
        migrationfhe::params::SecurityLevel::InsecureForTesting,
    )
    .unwrap();
    assert_eq!(
        wire_err(RelinearizationKey::from_bytes(&ring2, &o.rlk)),
        WireError::ParameterMismatch
    );
    assert_eq!(
        wire_err(SecretKey::from_bytes(&ring2, &o.sk)),
        WireError::ParameterMismatch
    );
    // Encoding a key with parameters it does not belong to is refused too.
    assert_eq!(f.bfv_rlk.to_bytes(&ring2), Err(Error::ContextMismatch));
    assert_eq!(
        f.bfv_rlk.to_bytes(f.ckks.rlwe()),
        Err(Error::ContextMismatch)
    );
}

#[test]
fn out_of_range_coefficients_are_refused() {
    let o = objects();
    let f = fuzzing::wire_fixture();
    let q = f.bfv.ring().q_moduli();
    let n = 16;
    // BFV ciphertext payload: level, count, flags, noise (14 bytes), then c_0 limb by limb.
    let start = HEADER_LEN + 14;
    let limb0 = n * bits_for(q[0]) as usize / 8;
    for (prime, offset) in [(0usize, start), (1, start + limb0)] {
        let b = edit(&o.bfv_ct, |v| {
            // The first residue of the limb: all ones (>= q_i, which is below 2^bits).
            let bits = bits_for(q[prime]) as usize;
            for k in 0..bits {
                v[offset + k / 8] |= 1 << (k % 8);
            }
        });
        assert_eq!(
            wire_err(decode_bfv_ct(&b)),
            WireError::CoefficientOutOfRange {
                what: "ciphertext",
                prime_index: prime
            }
        );
    }
    // Exactly q_0 is refused too.
    let b = edit(&o.bfv_ct, |v| {
        let bits = bits_for(q[0]) as usize;
        for k in 0..bits {
            let bit = (q[0] >> k) & 1 == 1;
            let (byte, m) = (start + k / 8, 1u8 << (k % 8));
            if bit {
                v[byte] |= m;
            } else {
                v[byte] &= !m;
            }
        }
    });
    assert_eq!(
        wire_err(decode_bfv_ct(&b)),
        WireError::CoefficientOutOfRange {
            what: "ciphertext",
            prime_index: 0
        }
    );
    // A plaintext coefficient >= t = 97 (7 bits: 127).
    let b = edit(&o.bfv_pt, |v| v[HEADER_LEN] |= 0x7f);
    assert_eq!(
        wire_err(bfv::Plaintext::from_bytes(&f.bfv, &b)),
        WireError::CoefficientOutOfRange {
            what: "plaintext",
            prime_index: 0
        }
    );
    // In a key: the first residue of the relinearisation key's b_0.
    let b = edit(&o.rlk, |v| {
        for k in 0..bits_for(q[0]) as usize {
            v[HEADER_LEN + 34 + k / 8] |= 1 << (k % 8);
        }
    });
    assert_eq!(
        wire_err(RelinearizationKey::from_bytes(f.bfv.ring(), &b)),
        WireError::CoefficientOutOfRange {
            what: "key-switching key b",
            prime_index: 0
        }
    );
}

#[test]
fn invalid_fields_are_refused() {
    let o = objects();
    let f = fuzzing::wire_fixture();
    let invalid = |r: Result<bfv::Ciphertext, Error>| match wire_err(r) {
        WireError::Invalid { what } => what,
        e => panic!("expected Invalid, got {e:?}"),
    };
    // Level 0 and level above L.
    for level in [0u8, 4] {
        let b = edit(&o.bfv_ct, |v| v[HEADER_LEN] = level);
        assert_eq!(invalid(decode_bfv_ct(&b)), "ciphertext level outside 1..=L");
    }
    // Fewer than two polynomials.
    let b = edit(&o.bfv_ct, |v| v[HEADER_LEN + 1] = 1);
    assert_eq!(
        invalid(decode_bfv_ct(&b)),
        "number of ciphertext polynomials"
    );
    // Unknown flag bits.
    let b = edit(&o.bfv_ct, |v| v[HEADER_LEN + 5] = 0x80);
    assert_eq!(invalid(decode_bfv_ct(&b)), "ciphertext flags");
    // A seeded ciphertext claiming three polynomials.
    let b = edit(&o.bfv_ct_seeded, |v| v[HEADER_LEN + 1] = 3);
    assert_eq!(
        invalid(decode_bfv_ct(&b)),
        "a seeded ciphertext has two polynomials at the top level"
    );
    // A NaN noise estimate.
    let b = edit(&o.bfv_ct, |v| {
        v[HEADER_LEN + 6..HEADER_LEN + 14].copy_from_slice(&f64::NAN.to_bits().to_le_bytes());
    });
    assert_eq!(invalid(decode_bfv_ct(&b)), "ciphertext noise estimate");
    // CKKS: a scale below 1, a negative variance.
    let b = edit(&o.ckks_ct, |v| {
        v[HEADER_LEN + 6..HEADER_LEN + 14].copy_from_slice(&0.5f64.to_bits().to_le_bytes());
    });
    assert_eq!(
        wire_err(ckks::Ciphertext::from_bytes(&f.ckks, &b)),
        WireError::Invalid {
            what: "scale below 1"
        }
    );
    let b = edit(&o.ckks_ct, |v| {
        v[HEADER_LEN + 14..HEADER_LEN + 22].copy_from_slice(&(-1f64).to_bits().to_le_bytes());
    });
    assert!(matches!(
        wire_err(ckks::Ciphertext::from_bytes(&f.ckks, &b)),
        WireError::Invalid { .. }
    ));
    // Galois keys: an even element, then two keys out of order.
    let b = edit(&o.gks, |v| v[52] &= !1);
    assert_eq!(
        wire_err(bfv::GaloisKeys::from_bytes(&f.bfv, &b)),
        WireError::Invalid {
            what: "Galois element must be odd and below 2N"
        }
    );
    let key_len = (o.gks.len() - HEADER_LEN - 32 - 4) / f.bfv_gk.elements().count();
    let b = edit(&o.gks, |v| {
        let first: Vec<u8> = v[52..52 + key_len].to_vec();
        let second: Vec<u8> = v[52 + key_len..52 + 2 * key_len].to_vec();
        v[52..52 + key_len].copy_from_slice(&second);
        v[52 + key_len..52 + 2 * key_len].copy_from_slice(&first);
    });
    assert_eq!(
        wire_err(bfv::GaloisKeys::from_bytes(&f.bfv, &b)),
        WireError::Invalid {
            what: "Galois elements not strictly increasing"
        }
    );
    // Relinearisation key with another number of digits than the parameters'.
    let b = edit(&o.rlk, |v| v[HEADER_LEN + 33] = 1);
    assert!(matches!(
        wire_err(RelinearizationKey::from_bytes(f.bfv.ring(), &b)),
        WireError::Invalid { .. }
    ));
    // A key sent with an explicit `a` that is its seed's expansion: non-canonical.
    let corpus = fuzzing::wire_corpus().unwrap();
    let get = |t: &str, n: &str| {
        corpus
            .iter()
            .find(|s| s.0 == t && s.1 == n)
            .unwrap()
            .2
            .clone()
    };
    let seeded = get("decode_public_key", "seeded");
    let explicit = get("decode_public_key", "explicit");
    let b = edit(&explicit, |v| {
        v[HEADER_LEN + 1..HEADER_LEN + 33]
            .copy_from_slice(&seeded[HEADER_LEN + 1..HEADER_LEN + 33]);
    });
    assert_eq!(
        wire_err(PublicKey::from_bytes(f.bfv.ring(), &b)),
        WireError::Invalid {
            what: "explicit public key a equals its seed's expansion (non-canonical)"
        }
    );
    // Secret key: a non-minimal width (3 bits for a ternary key).
    let sk = fuzzing::wire_fixture().bfv_sk.to_bytes();
    let b = migrationfhe::wire::seal(
        migrationfhe::wire::ObjectKind::SECRET_KEY,
        &migrationfhe::wire::ParamDigest::of_ring(f.bfv.ring()),
        |w| {
            let mut r = migrationfhe::wire::Reader::new(&sk[HEADER_LEN + 1..sk.len() - 32]);
            let z = r.packed(16, 2, "sk").unwrap();
            w.u8(3);
            w.packed(&z, 3);
        },
    );
    assert!(matches!(
        wire_err(SecretKey::from_bytes(f.bfv.ring(), &b)),
        WireError::Invalid { .. }
    ));
}

#[test]
fn parameter_objects_are_validated() {
    let p = bfv::Parameters::n8192_logq218_t20bit().unwrap();
    let b = p.to_bytes();
    // The size limits of the receiver.
    let small = ParameterLimits {
        max_degree: 4096,
        max_primes: 128,
    };
    assert_eq!(
        wire_err(bfv::Parameters::from_bytes(&b, &small)),
        WireError::TooLarge {
            what: "ring degree",
            declared: 8192,
            max: 4096
        }
    );
    // The same primes declared at 256-bit security: the builder refuses them.
    let b256 = edit(&b, |v| v[HEADER_LEN + 1] = 3);
    assert!(matches!(
        bfv::Parameters::from_bytes(&b256, &ParameterLimits::default()),
        Err(Error::InsecureParameters { degree: 8192, .. })
    ));
    // A composite "prime".
    let bad = edit(&b, |v| {
        v[HEADER_LEN + 6..HEADER_LEN + 14].copy_from_slice(&(1u64 << 40).to_le_bytes());
    });
    assert!(matches!(
        bfv::Parameters::from_bytes(&bad, &ParameterLimits::default()),
        Err(Error::InvalidModulus { .. })
    ));
    // An unknown security code; the header digest not matching the payload.
    let b9 = edit(&b, |v| v[HEADER_LEN + 1] = 9);
    assert_eq!(
        wire_err(bfv::Parameters::from_bytes(
            &b9,
            &ParameterLimits::default()
        )),
        WireError::Invalid {
            what: "unknown security level code"
        }
    );
    let bd = edit(&b, |v| v[8] ^= 1);
    assert_eq!(
        wire_err(bfv::Parameters::from_bytes(
            &bd,
            &ParameterLimits::default()
        )),
        WireError::ParameterMismatch
    );
    // CKKS parameters offered as BFV ones.
    let c = fuzzing::wire_fixture().ckks.to_bytes();
    assert!(matches!(
        wire_err(bfv::Parameters::from_bytes(&c, &ParameterLimits::default())),
        WireError::WrongKind { .. }
    ));
}

#[test]
fn errors_name_the_problem() {
    let o = objects();
    let e = decode_bfv_ct(&o.bfv_pt).unwrap_err().to_string();
    assert_eq!(
        e,
        "wire: expected a BFV ciphertext object, found object kind 0x0010"
    );
    let e = decode_bfv_ct(&o.bfv_ct[..20]).unwrap_err().to_string();
    assert_eq!(
        e,
        "wire: input truncated in the header: 48 bytes needed, 20 available"
    );
    let mut v = o.bfv_ct.clone();
    v[60] ^= 4;
    let e = decode_bfv_ct(&v).unwrap_err().to_string();
    assert_eq!(
        e,
        "wire: checksum mismatch: the bytes were corrupted in transit"
    );
}
