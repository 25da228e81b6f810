//! Hostile and corrupt inputs to the threshold layer's decoders (`docs/FORMAT.md` section 7, kinds
//! `0x0101..=0x010e`): truncated, extended, bit-flipped, wrong magic / version / kind /
//! parameters, out-of-range residues and invalid fields, each refused with its specific error.
//! Where a test alters a field on purpose it recomputes the checksum, so that the decoder's own
//! validation is what refuses the input. The messages are the fuzz seeds
//! (`fuzzing::threshold_corpus`: three parties over a tiny insecure ring, `N = 16`, three
//! 50-bit ciphertext primes and one 50-bit special prime, 3 key-switching digits).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use migrationfhe::error::{ThresholdError, WireError};
use migrationfhe::rlwe::RlweParams;
use migrationfhe::threshold::{
    ActiveSet, Committee, Crs, DecryptionShare, GaloisKeyShare, PartySecret, PkSwitchShare,
    PublicKeyShare, RelinEphemeral, RelinRound1Aggregate, RelinRound1Share, RelinRound2Share,
    SealedShare, TransportKey,
};
use migrationfhe::wire::{self, FORMAT_VERSION, HEADER_LEN};
use migrationfhe::{fuzzing, Error};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Payload offset of a frame.
const P: usize = HEADER_LEN;

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

/// Replaces payload bytes `at..at + del` by `ins`, fixing the declared length and the checksum.
fn splice(b: &[u8], at: usize, del: usize, ins: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    v.splice(P + at..P + at + del, ins.iter().copied());
    let len = (v.len() - P - 32) as u64;
    v[40..48].copy_from_slice(&len.to_le_bytes());
    reseal(v)
}

fn wire_err(r: Result<(), Error>) -> WireError {
    match r {
        Err(Error::Wire(e)) => e,
        other => panic!("expected a wire error, got {other:?}"),
    }
}

fn ring() -> &'static Arc<RlweParams> {
    &fuzzing::threshold_fixture().ring
}

/// Decodes `b` as the threshold kind `code` against `r`.
fn decode(code: u16, r: &Arc<RlweParams>, b: &[u8]) -> Result<(), Error> {
    match code {
        0x0101 => PublicKeyShare::from_bytes(r, b).map(drop),
        0x0102 => RelinRound1Share::from_bytes(r, b).map(drop),
        0x0103 => RelinRound1Aggregate::from_bytes(r, b).map(drop),
        0x0104 => RelinRound2Share::from_bytes(r, b).map(drop),
        0x0105 => GaloisKeyShare::from_bytes(r, b).map(drop),
        0x0106 => DecryptionShare::from_bytes(r, b).map(drop),
        0x0107 => PkSwitchShare::from_bytes(r, b).map(drop),
        0x0108 => SealedShare::from_bytes(r, b).map(drop),
        0x0109 => PartySecret::from_bytes(r, b).map(drop),
        0x010a => RelinEphemeral::from_bytes(r, b).map(drop),
        0x010b => Committee::from_bytes(b).map(drop),
        0x010c => ActiveSet::from_bytes(b).map(drop),
        0x010d => TransportKey::from_bytes(b).map(drop),
        0x010e => Crs::from_bytes(b).map(drop),
        _ => unreachable!(),
    }
}

/// Parameter-independent kinds (all-zero parameter digest).
fn parameter_free(code: u16) -> bool {
    matches!(code, 0x010b..=0x010e)
}

/// One valid message of every kind: `(kind, seed name, bytes)`.
fn messages() -> Vec<(u16, &'static str, Vec<u8>)> {
    let seeds = fuzzing::threshold_corpus().unwrap();
    let get = |t: &str, n: &str| {
        seeds
            .iter()
            .find(|s| s.0 == t && s.1 == n)
            .unwrap()
            .2
            .clone()
    };
    let (k, d, s, x) = (
        "decode_threshold_keygen",
        "decode_threshold_decryption",
        "decode_threshold_setup",
        "decode_threshold_secrets",
    );
    vec![
        (0x0101, "pk_share", get(k, "pk_share")),
        (0x0102, "relin_round1", get(k, "relin_round1")),
        (
            0x0103,
            "relin_round1_aggregate",
            get(k, "relin_round1_aggregate"),
        ),
        (0x0104, "relin_round2", get(k, "relin_round2")),
        (0x0105, "galois_share", get(k, "galois_share")),
        (0x0106, "decryption_share", get(d, "decryption_share")),
        (0x0107, "pk_switch_share", get(d, "pk_switch_share")),
        (0x0108, "sealed_share", get(s, "sealed_share")),
        (0x0109, "additive", get(x, "additive")),
        (0x0109, "shamir", get(x, "shamir")),
        (0x010a, "relin_ephemeral", get(x, "relin_ephemeral")),
        (0x010b, "committee", get(s, "committee")),
        (0x010c, "active_set", get(s, "active_set")),
        (0x010d, "transport_key", get(x, "transport_key")),
        (0x010e, "crs", get(s, "crs")),
    ]
}

fn message(name: &str) -> Vec<u8> {
    messages().into_iter().find(|m| m.1 == name).unwrap().2
}

#[test]
fn valid_messages_decode_with_their_kind_and_digest() {
    let ms = messages();
    for (code, name, b) in &ms {
        decode(*code, ring(), b).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(u16::from_le_bytes([b[6], b[7]]), *code, "{name}");
        assert_eq!(
            b[8..40].iter().all(|&x| x == 0),
            parameter_free(*code),
            "{name}: parameter digest"
        );
    }
    // Every kind 0x0101..=0x010e is covered.
    for code in 0x0101..=0x010e_u16 {
        assert!(ms.iter().any(|m| m.0 == code), "kind {code:#06x}");
    }
}

#[test]
fn truncated_messages_are_refused() {
    for (code, name, b) in messages() {
        let e = wire_err(decode(code, ring(), &b[..b.len() - 1]));
        assert!(
            matches!(
                e,
                WireError::Truncated {
                    what: "payload",
                    ..
                }
            ),
            "{name}: {e:?}"
        );
        let e = wire_err(decode(code, ring(), &b[..HEADER_LEN - 1]));
        assert!(
            matches!(e, WireError::Truncated { what: "header", .. }),
            "{name}: {e:?}"
        );
        assert!(matches!(
            wire_err(decode(code, ring(), &[])),
            WireError::Truncated { what: "header", .. }
        ));
        // A header declaring a 1 TiB payload fails on the length, before anything else.
        let mut huge = b[..HEADER_LEN].to_vec();
        huge[40..48].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let e = wire_err(decode(code, ring(), &huge));
        assert!(
            matches!(e, WireError::Truncated { what: "payload", needed, .. } if needed > 1 << 40),
            "{name}: {e:?}"
        );
    }
}

#[test]
fn extended_messages_are_refused() {
    for (code, name, b) in messages() {
        let mut long = b.clone();
        long.push(0);
        assert_eq!(
            wire_err(decode(code, ring(), &long)),
            WireError::TrailingBytes { extra: 1 },
            "{name}"
        );
        // One byte more inside the payload (length and checksum fixed): the payload decoder
        // refuses what it does not consume.
        let inner = splice(&b, b.len() - P - 32, 0, &[0]);
        assert_eq!(
            wire_err(decode(code, ring(), &inner)),
            WireError::TrailingBytes { extra: 1 },
            "{name}"
        );
    }
}

#[test]
fn bit_flips_are_caught_by_the_checksum() {
    for (code, name, b) in messages() {
        // A bit in the payload, in the parameter digest, in the checksum itself.
        for at in [P + (b.len() - P - 32) / 2, 20, b.len() - 1] {
            let mut bad = b.clone();
            bad[at] ^= 0x10;
            assert_eq!(
                wire_err(decode(code, ring(), &bad)),
                WireError::ChecksumMismatch,
                "{name} byte {at}"
            );
        }
    }
}

#[test]
fn wrong_magic_version_and_kind_are_refused() {
    let ms = messages();
    for (code, name, b) in &ms {
        let bad = edit(b, |v| v[0] = b'X');
        assert_eq!(
            wire_err(decode(*code, ring(), &bad)),
            WireError::BadMagic,
            "{name}"
        );
        let bad = edit(b, |v| v[4..6].copy_from_slice(&2u16.to_le_bytes()));
        assert_eq!(
            wire_err(decode(*code, ring(), &bad)),
            WireError::UnsupportedVersion {
                found: 2,
                supported: FORMAT_VERSION
            },
            "{name}"
        );
        for other in 0x0101..=0x010e_u16 {
            if other == *code {
                continue;
            }
            let e = wire_err(decode(other, ring(), b));
            assert!(
                matches!(e, WireError::WrongKind { found, .. } if found == *code),
                "{name} as {other:#06x}: {e:?}"
            );
        }
    }
}

#[test]
fn wrong_parameters_are_refused() {
    let other = fuzzing::wire_fixture().ckks.rlwe();
    for (code, name, b) in messages() {
        if parameter_free(code) {
            // A parameter-independent object must carry the all-zero digest.
            let bad = edit(&b, |v| v[8] = 1);
            assert_eq!(
                wire_err(decode(code, ring(), &bad)),
                WireError::ParameterMismatch,
                "{name}"
            );
        } else {
            assert_eq!(
                wire_err(decode(code, other, &b)),
                WireError::ParameterMismatch,
                "{name}"
            );
            let bad = edit(&b, |v| v[8..40].fill(0));
            assert_eq!(
                wire_err(decode(code, ring(), &bad)),
                WireError::ParameterMismatch,
                "{name}"
            );
        }
    }
}

/// Sets the first residue at payload offset `at` to all ones (`>= q` for every prime).
fn saturate(b: &[u8], at: usize) -> Vec<u8> {
    edit(b, |v| v[P + at..P + at + 7].fill(0xff))
}

/// Share header: protocol code (1), instance (32), active set (32), sender (4).
const SHARE_HEADER: usize = 69;

/// Field sizes of the fixture's ring, as `docs/FORMAT.md` section 7 defines them: one packed
/// limb per prime at `ceil(log2 q)` bits (section 4), `S_Q`, `S_QP`, the digit count `d` and
/// the packed length of a ternary polynomial.
struct Sizes {
    /// Bytes of each `Q` limb, `q_0` first.
    q_limbs: Vec<usize>,
    /// Bytes of each `P` limb.
    p_limbs: Vec<usize>,
    /// `S_Q`.
    s_q: usize,
    /// `S_QP`.
    s_qp: usize,
    /// `ceil(L / ceil(L / dnum))`.
    d: usize,
    /// `ceil(N / 4)`: 2 bits per ternary coefficient.
    ternary: usize,
}

impl Sizes {
    fn of(r: &RlweParams) -> Self {
        let n = r.degree();
        let limbs = |m: &[migrationfhe::math::modulus::Modulus]| -> Vec<usize> {
            m.iter()
                .map(|q| wire::poly_len(std::slice::from_ref(q), n))
                .collect()
        };
        let (q_limbs, p_limbs) = (limbs(r.ctx_q().moduli()), limbs(r.ctx_p().moduli()));
        let s_q = wire::poly_len(r.ctx_q().moduli(), n);
        let s_qp = s_q + wire::poly_len(r.ctx_p().moduli(), n);
        let l = r.max_level();
        let d = l.div_ceil(l.div_ceil(r.dnum()));
        Self {
            q_limbs,
            p_limbs,
            s_q,
            s_qp,
            d,
            ternary: wire::packed_len(n, 2),
        }
    }

    /// Offset of limb `k` of `Q` inside a `Q` or `QP` polynomial.
    fn q_limb(&self, k: usize) -> usize {
        self.q_limbs[..k].iter().sum()
    }

    /// Offset of limb `k` of `P` inside a `QP` polynomial (the `P` limbs follow `S_Q`).
    fn p_limb(&self, k: usize) -> usize {
        self.s_q + self.p_limbs[..k].iter().sum::<usize>()
    }

    /// Bytes of a polynomial over the first `l` primes of `Q`.
    fn q_at(&self, l: usize) -> usize {
        self.q_limb(l)
    }
}

/// Committee bytes at the start of a payload (`u32` threshold, `u32` count, ids).
fn committee_len(payload: &[u8]) -> usize {
    8 + 4 * u32::from_le_bytes(payload[4..8].try_into().unwrap()) as usize
}

#[test]
fn payload_sizes_match_the_documented_layouts() {
    let r = ring();
    let z = Sizes::of(r);
    assert_eq!(z.d, 3, "the fixture has 3 digits");
    assert_eq!(z.q_limbs, [100, 100, 100], "three 50-bit primes, N = 16");
    assert_eq!(z.p_limbs, [100], "one 50-bit special prime");
    assert_eq!((z.s_q, z.s_qp), (300, 400));
    let n = r.degree();
    let level = |name: &str| usize::from(message(name)[P + SHARE_HEADER]);
    let committee = |name: &str| committee_len(&message(name)[P..]);
    let set_len = 4 + 4 * 2; // the seed set: 2 of the re-shared committee
    let expected = [
        ("pk_share", SHARE_HEADER + z.s_q),
        ("relin_round1", SHARE_HEADER + 1 + (z.d + 1) * z.s_qp),
        ("relin_round1_aggregate", 64 + 1 + (z.d + 1) * z.s_qp),
        ("relin_round2", SHARE_HEADER + 1 + z.d * z.s_qp),
        ("galois_share", SHARE_HEADER + 8 + 1 + z.d * z.s_qp),
        (
            "decryption_share",
            SHARE_HEADER + 1 + z.q_at(level("decryption_share")),
        ),
        (
            "pk_switch_share",
            SHARE_HEADER + 1 + 2 * z.q_at(level("pk_switch_share")),
        ),
        ("sealed_share", 108 + 8 * n * (r.max_level() + 1) + 16),
        ("additive", committee("additive") + 4 + 1 + z.ternary),
        ("shamir", committee("shamir") + 4 + 1 + z.s_qp),
        ("relin_ephemeral", 32 + 32 + 4 + 1 + z.d * z.ternary),
        ("committee", committee("committee")),
        ("active_set", committee("active_set") + set_len),
        ("transport_key", 32),
        ("crs", 32),
    ];
    for (name, payload) in expected {
        let b = message(name);
        let len = u64::from_le_bytes(b[40..48].try_into().unwrap()) as usize;
        assert_eq!(len, payload, "{name}: payload length");
        assert_eq!(b.len(), HEADER_LEN + payload + 32, "{name}: frame length");
    }
}

#[test]
fn out_of_range_residues_are_refused() {
    let r = ring();
    let z = Sizes::of(r);
    let h = SHARE_HEADER;
    // Round 1 and its aggregate: `d` digit polynomials (`QP`), then one `h1` (`QP`).
    let r1 = h + 1;
    let r1_h1 = r1 + z.d * z.s_qp;
    let agg = 64 + 1;
    let agg_h1 = agg + z.d * z.s_qp;
    // Public-key switch: `h0` then `h1`, each over the share's level.
    let pks_h1 = h + 1 + z.q_at(usize::from(message("pk_switch_share")[P + h]));
    // Shamir form: committee, id, form byte, then the `QP` share.
    let shamir = committee_len(&message("shamir")[P..]) + 4 + 1;
    let cases = [
        (0x0101, "pk_share", h, "public-key share", 0),
        (0x0101, "pk_share", h + z.q_limb(2), "public-key share", 2),
        (0x0102, "relin_round1", r1, "round-1 h0", 0),
        // The last digit's h0, at its second prime.
        (
            0x0102,
            "relin_round1",
            r1 + (z.d - 1) * z.s_qp + z.q_limb(1),
            "round-1 h0",
            1,
        ),
        (0x0102, "relin_round1", r1_h1 + z.q_limb(1), "round-1 h1", 1),
        (0x0102, "relin_round1", r1_h1 + z.p_limb(0), "round-1 h1", 0),
        (
            0x0103,
            "relin_round1_aggregate",
            agg,
            "round-1 aggregate d",
            0,
        ),
        (
            0x0103,
            "relin_round1_aggregate",
            agg + (z.d - 1) * z.s_qp + z.p_limb(0),
            "round-1 aggregate d",
            0,
        ),
        (
            0x0103,
            "relin_round1_aggregate",
            agg_h1 + z.q_limb(2),
            "round-1 aggregate h1",
            2,
        ),
        (
            0x0104,
            "relin_round2",
            h + 1 + (z.d - 1) * z.s_qp,
            "round-2 share",
            0,
        ),
        // The special prime: index 0 of P.
        (
            0x0105,
            "galois_share",
            h + 9 + z.p_limb(0),
            "Galois share",
            0,
        ),
        (
            0x0105,
            "galois_share",
            h + 9 + z.q_limb(1),
            "Galois share",
            1,
        ),
        (0x0106, "decryption_share", h + 1, "decryption share", 0),
        (
            0x0106,
            "decryption_share",
            h + 1 + z.q_limb(1),
            "decryption share",
            1,
        ),
        (0x0107, "pk_switch_share", h + 1, "public-key-switch h0", 0),
        (0x0107, "pk_switch_share", pks_h1, "public-key-switch h1", 0),
        (0x0109, "shamir", shamir + z.q_limb(1), "Shamir share", 1),
        (0x0109, "shamir", shamir + z.p_limb(0), "Shamir share", 0),
    ];
    for (code, name, at, what, prime_index) in cases {
        let bad = saturate(&message(name), at);
        assert_eq!(
            wire_err(decode(code, r, &bad)),
            WireError::CoefficientOutOfRange { what, prime_index },
            "{name} at {at}"
        );
    }
    // Ternary secrets hold s + 1 in two bits: 3 is out of range. The additive share follows the
    // committee, id and form byte; the ephemeral's `d` polynomials follow instance, set, party
    // and the digit count (first and last digit).
    let additive = committee_len(&message("additive")[P..]) + 4 + 1;
    let eph = 32 + 32 + 4 + 1;
    for (code, name, at) in [
        (0x0109, "additive", additive),
        (0x010a, "relin_ephemeral", eph),
        (0x010a, "relin_ephemeral", eph + (z.d - 1) * z.ternary),
    ] {
        let bad = edit(&message(name), |v| v[P + at] = 0xff);
        assert_eq!(
            wire_err(decode(code, r, &bad)),
            WireError::Invalid {
                what: "ternary coefficient out of range"
            },
            "{name} at {at}"
        );
    }
}

fn invalid(what: &'static str) -> WireError {
    WireError::Invalid { what }
}

#[test]
fn share_headers_and_counts_are_validated() {
    let r = ring();
    let pk = message("pk_share");
    // Share header: protocol kind (byte 0), instance, set, sender (bytes 65..69).
    let e = wire_err(decode(0x0101, r, &edit(&pk, |v| v[P] = 0)));
    assert_eq!(e, invalid("unknown protocol kind"));
    let e = wire_err(decode(0x0101, r, &edit(&pk, |v| v[P] = 5)));
    assert_eq!(e, invalid("protocol kind does not match the object kind"));
    let e = wire_err(decode(0x0101, r, &edit(&pk, |v| v[P + 65..P + 69].fill(0))));
    assert_eq!(e, invalid("party id 0"));
    // Digit counts must be the parameters' (the ephemeral's follows instance, set, party).
    for (code, name, at) in [
        (0x0102, "relin_round1", SHARE_HEADER),
        (0x0103, "relin_round1_aggregate", 64),
        (0x0104, "relin_round2", SHARE_HEADER),
        (0x0105, "galois_share", SHARE_HEADER + 8),
        (0x010a, "relin_ephemeral", 32 + 32 + 4),
    ] {
        let b = message(name);
        for d in [0u8, 2, 4, 255] {
            let e = wire_err(decode(code, r, &edit(&b, |v| v[P + at] = d)));
            assert_eq!(
                e,
                invalid("number of digits differs from the parameters' dnum"),
                "{name} {d}"
            );
        }
    }
    // The digit polynomials are checked against the remaining input before any is read (a
    // payload one digit short); round 1's trailing h1 is read after them (a payload short by
    // one byte runs out in h1).
    let z = Sizes::of(r);
    for (code, name, h1) in [
        (0x0102, "relin_round1", "round-1 h1"),
        (0x0103, "relin_round1_aggregate", "round-1 aggregate h1"),
    ] {
        let b = message(name);
        let end = b.len() - P - 32;
        let e = wire_err(decode(code, r, &splice(&b, end - 1, 1, &[])));
        assert!(
            matches!(e, WireError::Truncated { what, .. } if what == h1),
            "{name}: {e:?}"
        );
        let e = wire_err(decode(
            code,
            r,
            &splice(&b, end - 2 * z.s_qp, 2 * z.s_qp, &[]),
        ));
        assert!(
            matches!(e, WireError::Truncated { what: "digits", .. }),
            "{name}: {e:?}"
        );
    }
    // Galois element: odd, in [3, 2N).
    let g = message("galois_share");
    let two_n = 2 * r.degree() as u64;
    for k in [0, 1, 2, 4, two_n, two_n + 1, u64::MAX] {
        let e = wire_err(decode(
            0x0105,
            r,
            &edit(&g, |v| v[P + 69..P + 77].copy_from_slice(&k.to_le_bytes())),
        ));
        assert_eq!(e, invalid("Galois element must be odd, in [3, 2N)"), "{k}");
    }
    // Levels: 1 ..= L.
    for (code, name) in [(0x0106, "decryption_share"), (0x0107, "pk_switch_share")] {
        let b = message(name);
        for l in [0u8, r.max_level() as u8 + 1, 255] {
            let e = wire_err(decode(code, r, &edit(&b, |v| v[P + 69] = l)));
            assert_eq!(e, invalid("level outside the modulus chain"), "{name} {l}");
        }
        // A lower level than the one encoded leaves the rest of the payload unread.
        let e = wire_err(decode(code, r, &edit(&b, |v| v[P + 69] = 1)));
        assert!(
            matches!(e, WireError::TrailingBytes { .. }),
            "{name}: {e:?}"
        );
        // A higher one runs out of input.
        let e = wire_err(decode(code, r, &edit(&b, |v| v[P + 69] = 3)));
        assert!(matches!(e, WireError::Truncated { .. }), "{name}: {e:?}");
    }
}

#[test]
fn sealed_shares_are_validated() {
    let r = ring();
    let b = message("sealed_share");
    // instance 32, committee 32, sender 4, receiver 4, ephemeral 32, length 4.
    for at in [64, 68] {
        let e = wire_err(decode(
            0x0108,
            r,
            &edit(&b, |v| v[P + at..P + at + 4].fill(0)),
        ));
        assert_eq!(e, invalid("party id 0"));
    }
    let len = u32::from_le_bytes(b[P + 104..P + 108].try_into().unwrap());
    assert_eq!(len as usize, 8 * r.degree() * 4 + 16);
    for bad_len in [0, len - 1, len + 1, u32::MAX] {
        let e = wire_err(decode(
            0x0108,
            r,
            &edit(&b, |v| {
                v[P + 104..P + 108].copy_from_slice(&bad_len.to_le_bytes());
            }),
        ));
        assert_eq!(
            e,
            invalid("sealed share length differs from one R_QP element"),
            "{bad_len}"
        );
    }
    // A ciphertext altered in transit (checksum fixed) decodes but does not open.
    let f = fuzzing::threshold_fixture();
    let bad = edit(&b, |v| v[P + 110] ^= 1);
    let m = SealedShare::from_bytes(r, &bad).unwrap();
    let sender = (m.sender.get() - 1) as usize;
    let receiver = (m.receiver.get() - 1) as usize;
    assert!(matches!(
        m.open(r, &f.transport[receiver], &f.transport_pubs[sender].1),
        Err(Error::Threshold(ThresholdError::SealedShareRejected))
    ));
}

#[test]
fn committees_and_sets_are_validated() {
    let c = message("committee"); // threshold 2, ids 1, 2, 3
    assert_eq!(&c[P..P + 8], &[2, 0, 0, 0, 3, 0, 0, 0]);
    for t in [0u32, 4, u32::MAX] {
        let e = wire_err(decode(
            0x010b,
            ring(),
            &edit(&c, |v| v[P..P + 4].copy_from_slice(&t.to_le_bytes())),
        ));
        assert_eq!(e, invalid("committee"), "threshold {t}");
    }
    let count = |n: u32| edit(&c, |v| v[P + 4..P + 8].copy_from_slice(&n.to_le_bytes()));
    assert_eq!(
        wire_err(decode(0x010b, ring(), &count(0))),
        invalid("party count")
    );
    assert_eq!(
        wire_err(decode(0x010b, ring(), &count(65_537))),
        WireError::TooLarge {
            what: "party count",
            declared: 65_537,
            max: 65_536
        }
    );
    assert!(matches!(
        wire_err(decode(0x010b, ring(), &count(65_536))),
        WireError::Truncated {
            what: "party count",
            needed: 262_144,
            available: 12
        }
    ));
    // Ids: non-zero, distinct, strictly increasing (one encoding per committee).
    let ids = |a: u32, b: u32| {
        edit(&c, |v| {
            v[P + 8..P + 12].copy_from_slice(&a.to_le_bytes());
            v[P + 12..P + 16].copy_from_slice(&b.to_le_bytes());
        })
    };
    assert_eq!(
        wire_err(decode(0x010b, ring(), &ids(0, 2))),
        invalid("party id 0")
    );
    assert_eq!(
        wire_err(decode(0x010b, ring(), &ids(2, 2))),
        invalid("committee")
    );
    assert_eq!(
        wire_err(decode(0x010b, ring(), &ids(2, 1))),
        invalid("committee ids not sorted (non-canonical)")
    );

    // Active set: committee (t = 2 of 1, 2, 3), then ids 2, 3.
    let s = message("active_set");
    let at = 8 + 12;
    assert_eq!(
        &s[P + at..P + at + 12],
        &[2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]
    );
    let e = decode(
        0x010c,
        ring(),
        &splice(&s, at, 12, &[1, 0, 0, 0, 2, 0, 0, 0]),
    );
    assert!(matches!(
        e,
        Err(Error::Threshold(ThresholdError::BelowThreshold {
            parties: 1,
            threshold: 2
        }))
    ));
    let e = decode(0x010c, ring(), &edit(&s, |v| v[P + at + 8] = 9));
    assert!(matches!(
        e,
        Err(Error::Threshold(ThresholdError::InvalidParticipants { .. }))
    ));
    let e = wire_err(decode(
        0x010c,
        ring(),
        &edit(&s, |v| {
            v[P + at + 4] = 3;
            v[P + at + 8] = 2;
        }),
    ));
    assert_eq!(e, invalid("set ids not sorted (non-canonical)"));
}

#[test]
fn party_secrets_are_validated() {
    let r = ring();
    // Committee (t = n = 3: 4 + 4 + 12 bytes), id (4), form (1), share.
    let a = message("additive");
    let sh = message("shamir");
    for form in [2u8, 3, 0x80] {
        let e = wire_err(decode(0x0109, r, &edit(&a, |v| v[P + 24] = form)));
        assert_eq!(e, invalid("share form"), "{form}");
    }
    // An additive share needs an n-out-of-n committee and a member id.
    let e = decode(0x0109, r, &edit(&a, |v| v[P] = 2));
    assert!(matches!(
        e,
        Err(Error::Threshold(ThresholdError::InvalidParticipants { .. }))
    ));
    let e = decode(0x0109, r, &edit(&a, |v| v[P + 20] = 9));
    assert!(matches!(
        e,
        Err(Error::Threshold(ThresholdError::InvalidParticipants { .. }))
    ));
    // A Shamir share, too, belongs to a member.
    let e = wire_err(decode(0x0109, r, &edit(&sh, |v| v[P + 20] = 9)));
    assert_eq!(e, invalid("party id not in the committee"));
    // Changing the form of a valid message makes its share the wrong size.
    let e = wire_err(decode(0x0109, r, &edit(&a, |v| v[P + 24] = 1)));
    assert!(matches!(e, WireError::Truncated { .. }), "{e:?}");
}
