//! Fuzz entry points for the threshold layer's messages (`threshold::encoding`, kinds
//! `0x0101..=0x010e`) and for the aggregation / combination steps that consume them.
//!
//! The decoders are grouped by message family, one target per family; a target hands its
//! (resealed) input to **every** decoder of its family, so the frame's kind field selects the
//! decoder that parses the payload and the others exercise the `WrongKind` path:
//!
//! | target | kinds |
//! |---|---|
//! | [`decode_threshold_keygen`] | `0x0101`–`0x0105`: public-key, relinearisation round-1, round-1 aggregate, round-2 and Galois shares |
//! | [`decode_threshold_decryption`] | `0x0106`, `0x0107`: decryption and public-key-switch shares |
//! | [`decode_threshold_setup`] | `0x0108` sealed Shamir share, `0x010b` committee, `0x010c` active set, `0x010e` CRS |
//! | [`decode_threshold_secrets`] | `0x0109` party secret, `0x010a` relinearisation ephemeral, `0x010d` transport key |
//!
//! [`threshold_combine`] takes a sequence of frames, decodes each by its kind and feeds what
//! decodes into the aggregation and combination functions (collective keys, decryption,
//! re-encryption, Shamir re-sharing), then uses the results.

use super::{canonical, reseal, wire_fixture, DECODED};
use crate::bfv;
use crate::error::Result;
use crate::rlwe::{PublicKey, RlweParams, SecretKey};
use crate::threshold::{
    deal, ideal_secret_key_for_reference_test, ActiveSet, BfvDecryption, Committee, Crp, Crs,
    DecryptionPolicy, DecryptionShare, GaloisKeyShare, InMemoryShareLogForTesting, Instance,
    PartyId, PartySecret, PkSwitchShare, ProtocolKind, PublicKeyShare, RelinEphemeral,
    RelinRound1Aggregate, RelinRound1Share, RelinRound2Share, SealedShare, TransportKey,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::sync::{Arc, OnceLock};
use zeroize::Zeroizing;

/// The committee, secrets and prepared inputs the threshold targets decode and combine against:
/// three parties with additive shares over the BFV fixture's ring (`N = 16`, three 50-bit
/// primes, one special prime; insecure, deterministic).
pub struct ThresholdFixture {
    /// The ring (the BFV fixture's).
    pub ring: Arc<RlweParams>,
    /// The BFV parameters over it.
    pub bfv: Arc<bfv::Parameters>,
    /// Parties 1, 2, 3; threshold 3.
    pub committee: Committee,
    /// The whole committee.
    pub set: ActiveSet,
    /// Each party's additive share.
    pub secrets: Vec<PartySecret>,
    /// The reference key `Σ s_i` (for checking what the fuzzed protocols produce).
    pub ideal: SecretKey,
    /// The common reference string.
    pub crs: Crs,
    /// Public-key instance.
    pub crp_pk: Crp,
    /// Relinearisation instance (round 1's kind, as round 2's aggregation takes it).
    pub crp_rlk: Crp,
    /// Galois instance.
    pub crp_gal: Crp,
    /// Each party's round-1 ephemeral secret, encoded (decoded afresh for each round 2).
    pub ephemerals: Vec<Zeroizing<Vec<u8>>>,
    /// The collective public key.
    pub pk: PublicKey,
    /// A ciphertext of `1, 2, 3` under `pk`, prepared for decryption by `set`.
    pub dec: BfvDecryption,
    /// Each party's X25519 transport key.
    pub transport: Vec<TransportKey>,
    /// `(id, transport public key)` of each party.
    pub transport_pubs: Vec<(PartyId, [u8; 32])>,
    /// The Shamir re-sharing: the committee with threshold 2.
    pub reshared: Committee,
    /// The re-sharing instance.
    pub deal_instance: Instance,
    /// The receiver of public-key switching: its secret key.
    pub receiver_sk: SecretKey,
    /// The receiver's public key.
    pub receiver_pk: PublicKey,
}

fn build_threshold_fixture() -> Result<ThresholdFixture> {
    let w = wire_fixture();
    let bfv = Arc::clone(&w.bfv);
    let ring = Arc::clone(bfv.ring());
    let mut rng = ChaCha20Rng::seed_from_u64(0x7410_F022);
    let committee = Committee::numbered(3, 3)?;
    let set = committee.all()?;
    let secrets = committee
        .ids()
        .iter()
        .map(|&id| PartySecret::generate(&ring, &committee, id, &mut rng))
        .collect::<Result<Vec<_>>>()?;
    let ideal = ideal_secret_key_for_reference_test(&secrets.iter().collect::<Vec<_>>())?;
    let crs = Crs::new([0x42; 32]);
    let crp_pk = Crp::new(&ring, &crs.instance(ProtocolKind::PublicKey, b"fuzz/pk"))?;
    let crp_rlk = Crp::new(&ring, &crs.instance(ProtocolKind::RelinRound1, b"fuzz/rlk"))?;
    let crp_gal = Crp::new(&ring, &crs.instance(ProtocolKind::Galois, b"fuzz/gal"))?;
    let mut pk_shares = Vec::new();
    let mut ephemerals = Vec::new();
    for s in &secrets {
        let a = s.active(&set)?;
        let mut log = InMemoryShareLogForTesting::new();
        pk_shares.push(a.public_key_share(&crp_pk, &mut log, &mut rng)?);
        let (e, _) = a.relin_round1(&crp_rlk, &mut log, &mut rng)?;
        ephemerals.push(e.to_bytes(&ring)?);
    }
    let pk = PublicKeyShare::aggregate(&ring, &crp_pk, &set, &pk_shares)?;
    let pt = bfv::Plaintext::encode(&bfv, &[1, 2, 3])?;
    let ct = bfv::Ciphertext::encrypt_pk(&pk, &pt, &mut rng)?;
    let dec = BfvDecryption::new(&ct, &set, &DecryptionPolicy::default())?;
    let transport: Vec<TransportKey> = (0..3).map(|_| TransportKey::generate(&mut rng)).collect();
    let transport_pubs = secrets
        .iter()
        .zip(&transport)
        .map(|(s, k)| (s.id(), *k.public()))
        .collect();
    let reshared = committee.with_threshold(2)?;
    let deal_instance = crs.instance(ProtocolKind::ShamirDeal, b"fuzz/deal");
    let receiver_sk = SecretKey::generate(&ring, &mut rng)?;
    let receiver_pk = PublicKey::generate(&receiver_sk, &mut rng)?;
    Ok(ThresholdFixture {
        ring,
        bfv,
        committee,
        set,
        secrets,
        ideal,
        crs,
        crp_pk,
        crp_rlk,
        crp_gal,
        ephemerals,
        pk,
        dec,
        transport,
        transport_pubs,
        reshared,
        deal_instance,
        receiver_sk,
        receiver_pk,
    })
}

/// The threshold fixture, built once.
///
/// # Panics
/// If it cannot be built (a bug).
#[allow(clippy::expect_used)]
pub fn threshold_fixture() -> &'static ThresholdFixture {
    static F: OnceLock<ThresholdFixture> = OnceLock::new();
    F.get_or_init(|| build_threshold_fixture().expect("threshold fuzz fixture"))
}

/// Key-generation shares (`0x0101`–`0x0105`): every decoder of the family; a decoded object
/// must re-encode to the input.
///
/// # Panics
/// If a decoded object does not re-encode to its input (a bug).
pub fn decode_threshold_keygen(data: &[u8]) {
    let data = &*reseal(data);
    let r = &threshold_fixture().ring;
    if let Ok(x) = PublicKeyShare::from_bytes(r, data) {
        canonical(data, &x.to_bytes(r).unwrap_or_default());
    }
    if let Ok(x) = RelinRound1Share::from_bytes(r, data) {
        canonical(data, &x.to_bytes(r).unwrap_or_default());
    }
    if let Ok(x) = RelinRound1Aggregate::from_bytes(r, data) {
        canonical(data, &x.to_bytes(r).unwrap_or_default());
    }
    if let Ok(x) = RelinRound2Share::from_bytes(r, data) {
        canonical(data, &x.to_bytes(r).unwrap_or_default());
    }
    if let Ok(x) = GaloisKeyShare::from_bytes(r, data) {
        canonical(data, &x.to_bytes(r).unwrap_or_default());
    }
}

/// Decryption and public-key-switch shares (`0x0106`, `0x0107`).
///
/// # Panics
/// As [`decode_threshold_keygen`].
pub fn decode_threshold_decryption(data: &[u8]) {
    let data = &*reseal(data);
    let r = &threshold_fixture().ring;
    if let Ok(x) = DecryptionShare::from_bytes(r, data) {
        canonical(data, &x.to_bytes(r).unwrap_or_default());
    }
    if let Ok(x) = PkSwitchShare::from_bytes(r, data) {
        canonical(data, &x.to_bytes(r).unwrap_or_default());
    }
}

/// Setup and re-sharing messages: sealed Shamir share (`0x0108`), committee (`0x010b`),
/// active set (`0x010c`), CRS (`0x010e`). A decoded sealed share is also opened with its
/// receiver's fixture transport key (it authenticates only if unchanged).
///
/// # Panics
/// As [`decode_threshold_keygen`].
pub fn decode_threshold_setup(data: &[u8]) {
    let data = &*reseal(data);
    let f = threshold_fixture();
    if let Ok(x) = SealedShare::from_bytes(&f.ring, data) {
        canonical(data, &x.to_bytes(&f.ring));
        let _ = open_sealed(f, &x);
    }
    if let Ok(x) = Committee::from_bytes(data) {
        canonical(data, &x.to_bytes());
        let _ = x.all();
    }
    if let Ok((c, s)) = ActiveSet::from_bytes(data) {
        canonical(data, &s.to_bytes(&c).unwrap_or_default());
    }
    if let Ok(x) = Crs::from_bytes(data) {
        canonical(data, &x.to_bytes());
        let _ = Crp::new(&f.ring, &x.instance(ProtocolKind::PublicKey, b"fuzz"));
    }
}

/// Secret state: party secret (`0x0109`), relinearisation ephemeral (`0x010a`), transport key
/// (`0x010d`). A decoded party secret also derives its active share for the whole committee
/// and computes a public-key share.
///
/// # Panics
/// As [`decode_threshold_keygen`].
pub fn decode_threshold_secrets(data: &[u8]) {
    let data = &*reseal(data);
    let f = threshold_fixture();
    if let Ok(x) = PartySecret::from_bytes(&f.ring, data) {
        canonical(data, &x.to_bytes().map(|b| b.to_vec()).unwrap_or_default());
        if let Ok(set) = x.committee().all() {
            if let Ok(a) = x.active(&set) {
                let mut rng = ChaCha20Rng::seed_from_u64(3);
                let mut log = InMemoryShareLogForTesting::new();
                let _ = a.public_key_share(&f.crp_pk, &mut log, &mut rng);
            }
        }
    }
    if let Ok(x) = RelinEphemeral::from_bytes(&f.ring, data) {
        canonical(
            data,
            &x.to_bytes(&f.ring).map(|b| b.to_vec()).unwrap_or_default(),
        );
    }
    if let Ok(x) = TransportKey::from_bytes(data) {
        canonical(data, &x.to_bytes().map(|b| b.to_vec()).unwrap_or_default());
    }
}

fn open_sealed(
    f: &ThresholdFixture,
    m: &SealedShare,
) -> Result<crate::threshold::shamir::DealtShare> {
    let idx = |id: PartyId| {
        f.transport_pubs.iter().position(|(p, _)| *p == id).ok_or(
            crate::error::Error::ValueOutOfRange {
                what: "party outside the fuzz committee",
            },
        )
    };
    let (r, s) = (idx(m.receiver)?, idx(m.sender)?);
    m.open(&f.ring, &f.transport[r], &f.transport_pubs[s].1)
}

thread_local! {
    static COMBINED: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
}

fn combined() {
    COMBINED.with(|c| c.set(c.get() + 1));
}

/// How many aggregation / combination steps succeeded in the last [`threshold_combine`] runs
/// on this thread (clears the count): lets the replay test check that the seeds reach them.
pub fn last_combined() -> usize {
    COMBINED.with(|c| c.replace(0))
}

/// Splits `data` into records `len (u16 LE) ‖ bytes[len]`; a short tail is dropped.
fn records(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some((len, rest)) = data.split_first_chunk::<2>() {
        let len = usize::from(u16::from_le_bytes(*len));
        if len > rest.len() {
            break;
        }
        let (x, tail) = rest.split_at(len);
        out.push(x);
        data = tail;
    }
    out
}

/// What [`threshold_combine`] decoded, by kind.
#[derive(Default)]
struct Decoded {
    pk: Vec<PublicKeyShare>,
    r1: Vec<RelinRound1Share>,
    agg: Vec<RelinRound1Aggregate>,
    r2: Vec<RelinRound2Share>,
    gal: Vec<GaloisKeyShare>,
    dec: Vec<DecryptionShare>,
    pks: Vec<PkSwitchShare>,
    sealed: Vec<SealedShare>,
}

fn decode_record(f: &ThresholdFixture, x: &[u8], d: &mut Decoded) -> bool {
    let r = &f.ring;
    let kind = x.get(6..8).map_or(0, |k| u16::from_le_bytes([k[0], k[1]]));
    match kind {
        0x0101 => PublicKeyShare::from_bytes(r, x)
            .map(|s| d.pk.push(s))
            .is_ok(),
        0x0102 => RelinRound1Share::from_bytes(r, x)
            .map(|s| d.r1.push(s))
            .is_ok(),
        0x0103 => RelinRound1Aggregate::from_bytes(r, x)
            .map(|s| d.agg.push(s))
            .is_ok(),
        0x0104 => RelinRound2Share::from_bytes(r, x)
            .map(|s| d.r2.push(s))
            .is_ok(),
        0x0105 => GaloisKeyShare::from_bytes(r, x)
            .map(|s| d.gal.push(s))
            .is_ok(),
        0x0106 => DecryptionShare::from_bytes(r, x)
            .map(|s| d.dec.push(s))
            .is_ok(),
        0x0107 => PkSwitchShare::from_bytes(r, x)
            .map(|s| d.pks.push(s))
            .is_ok(),
        0x0108 => SealedShare::from_bytes(r, x)
            .map(|s| d.sealed.push(s))
            .is_ok(),
        _ => false,
    }
}

/// Round 2 of the relinearisation key from a round-1 aggregate, by every fixture party (fresh
/// logs), then the key's aggregation and one relinearisation with it.
fn round2_and_use(f: &ThresholdFixture, agg: &RelinRound1Aggregate) -> Result<()> {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let mut shares = Vec::new();
    for (s, e) in f.secrets.iter().zip(&f.ephemerals) {
        let a = s.active(&f.set)?;
        let e = RelinEphemeral::from_bytes(&f.ring, e)?;
        let mut log = InMemoryShareLogForTesting::new();
        shares.push(a.relin_round2(&f.crp_rlk, e, agg, &mut log, &mut rng)?);
    }
    let rlk = RelinRound2Share::aggregate(&f.ring, &f.crp_rlk, &f.set, &shares)?;
    combined();
    use_relin_key(f, &rlk)
}

fn fixture_ciphertext(f: &ThresholdFixture) -> Result<bfv::Ciphertext> {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let pt = bfv::Plaintext::encode(&f.bfv, &[3, 1, 4, 1, 5])?;
    bfv::Ciphertext::encrypt_pk(&f.pk, &pt, &mut rng)
}

fn use_relin_key(f: &ThresholdFixture, rlk: &crate::rlwe::RelinearizationKey) -> Result<()> {
    let ct = fixture_ciphertext(f)?;
    let ev = bfv::Evaluator::new(&f.bfv);
    let r = ev.relinearize(&ev.multiply(&ct, &ct)?, rlk)?;
    r.decrypt(&f.ideal).map(|_| ())
}

/// A sequence of records `len (u16 LE) ‖ frame` (threshold messages at the fixture): each
/// frame is decoded by its kind (`0x0101`–`0x0108`), and what decodes is aggregated or
/// combined by the fixture committee — collective public, relinearisation (both rounds; a
/// decoded round-1 aggregate goes through round 2 with the fixture parties) and Galois keys,
/// then used to encrypt / relinearise / rotate; decryption and public-key-switch shares
/// combined for the fixture's prepared ciphertext, and the result decoded / decrypted; sealed
/// Shamir shares opened and, when one receiver has all three, turned into its Shamir share.
/// Every step may refuse (an `Error`); none may panic.
pub fn threshold_combine(data: &[u8]) {
    let f = threshold_fixture();
    let mut d = Decoded::default();
    let mut any = false;
    for x in records(data) {
        any |= decode_record(f, &reseal(x), &mut d);
    }
    if !any {
        return;
    }
    DECODED.with(|c| c.set(true));
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    if !d.pk.is_empty() {
        if let Ok(pk) = PublicKeyShare::aggregate(&f.ring, &f.crp_pk, &f.set, &d.pk) {
            combined();
            if let Ok(pt) = bfv::Plaintext::encode(&f.bfv, &[7, 8]) {
                if let Ok(ct) = bfv::Ciphertext::encrypt_pk(&pk, &pt, &mut rng) {
                    let _ = ct.decrypt(&f.ideal);
                }
            }
        }
    }
    if !d.r1.is_empty() {
        if let Ok(agg) = RelinRound1Share::aggregate(&f.ring, &f.crp_rlk, &f.set, &d.r1) {
            let _ = round2_and_use(f, &agg);
        }
    }
    for agg in &d.agg {
        let _ = round2_and_use(f, agg);
    }
    if !d.r2.is_empty() {
        if let Ok(rlk) = RelinRound2Share::aggregate(&f.ring, &f.crp_rlk, &f.set, &d.r2) {
            combined();
            let _ = use_relin_key(f, &rlk);
        }
    }
    if !d.gal.is_empty() {
        if let Ok(gk) = GaloisKeyShare::aggregate(&f.ring, &f.crp_gal, &f.set, &d.gal) {
            combined();
            if let Ok(ct) = fixture_ciphertext(f) {
                if let Ok(r) = bfv::Evaluator::new(&f.bfv).apply_galois(&ct, &gk) {
                    let _ = r.decrypt(&f.ideal);
                }
            }
        }
    }
    if !d.dec.is_empty() {
        if let Ok(pt) = f.dec.combine(&f.set, &d.dec) {
            combined();
            let _ = pt.decode();
        }
    }
    if !d.pks.is_empty() {
        if let Ok(ct) = f.dec.combine_pk_switch(&f.set, &d.pks) {
            combined();
            let _ = ct.decrypt(&f.receiver_sk);
        }
    }
    for id in f.committee.ids() {
        let opened: Vec<_> = d
            .sealed
            .iter()
            .filter(|m| m.receiver == *id)
            .filter_map(|m| open_sealed(f, m).ok())
            .collect();
        if !opened.is_empty() {
            if let Ok(s) =
                PartySecret::from_dealt(&f.ring, &f.reshared, *id, &f.deal_instance, &opened)
            {
                combined();
                let _ = s.to_bytes();
            }
        }
    }
}

/// Frames a list of messages as [`threshold_combine`]'s records.
fn record_list(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for x in frames {
        out.extend_from_slice(&u16::try_from(x.len()).unwrap_or(0).to_le_bytes());
        out.extend_from_slice(x);
    }
    out
}

/// The seed corpus of the threshold targets, `(target, file name, bytes)`: one valid message
/// of every kind at the fixture, and for [`threshold_combine`] one complete share set (all
/// three parties) per protocol. Deterministic (seeded ChaCha20).
///
/// # Errors
/// Only if the fixture's protocols fail (a bug).
pub fn threshold_corpus() -> Result<Vec<(&'static str, String, Vec<u8>)>> {
    let f = threshold_fixture();
    let r = &f.ring;
    let mut rng = ChaCha20Rng::seed_from_u64(0x0074_10C0);
    let mut out: Vec<(&'static str, String, Vec<u8>)> = Vec::new();
    let mut push = |t: &'static str, name: &str, b: Vec<u8>| out.push((t, name.to_string(), b));

    let mut logs: Vec<_> = (0..3).map(|_| InMemoryShareLogForTesting::new()).collect();
    let active = f
        .secrets
        .iter()
        .map(|s| s.active(&f.set))
        .collect::<Result<Vec<_>>>()?;

    // Key generation. Fresh instances (other labels than the fixture's own runs).
    let mut pk = Vec::new();
    let mut r1 = Vec::new();
    let mut eph = Vec::new();
    let mut gal = Vec::new();
    for (a, log) in active.iter().zip(logs.iter_mut()) {
        pk.push(a.public_key_share(&f.crp_pk, log, &mut rng)?);
        let (e, s) = a.relin_round1(&f.crp_rlk, log, &mut rng)?;
        eph.push(e);
        r1.push(s);
        gal.push(a.galois_key_share(&f.crp_gal, 3, log, &mut rng)?);
    }
    let agg = RelinRound1Share::aggregate(r, &f.crp_rlk, &f.set, &r1)?;
    let mut r2 = Vec::new();
    for ((a, log), e) in active.iter().zip(logs.iter_mut()).zip(eph) {
        r2.push(a.relin_round2(&f.crp_rlk, e, &agg, log, &mut rng)?);
    }
    let enc = |v: &[Vec<u8>]| record_list(v);
    let pk_b = pk
        .iter()
        .map(|s| s.to_bytes(r))
        .collect::<Result<Vec<_>>>()?;
    let r1_b = r1
        .iter()
        .map(|s| s.to_bytes(r))
        .collect::<Result<Vec<_>>>()?;
    let r2_b = r2
        .iter()
        .map(|s| s.to_bytes(r))
        .collect::<Result<Vec<_>>>()?;
    let gal_b = gal
        .iter()
        .map(|s| s.to_bytes(r))
        .collect::<Result<Vec<_>>>()?;
    let agg_b = agg.to_bytes(r)?;
    push("decode_threshold_keygen", "pk_share", pk_b[0].clone());
    push("decode_threshold_keygen", "relin_round1", r1_b[0].clone());
    push(
        "decode_threshold_keygen",
        "relin_round1_aggregate",
        agg_b.clone(),
    );
    push("decode_threshold_keygen", "relin_round2", r2_b[0].clone());
    push("decode_threshold_keygen", "galois_share", gal_b[0].clone());
    push("threshold_combine", "public_key", enc(&pk_b));
    push("threshold_combine", "relin_round1", enc(&r1_b));
    push("threshold_combine", "relin_aggregate", enc(&[agg_b]));
    push("threshold_combine", "relin_round2", enc(&r2_b));
    push("threshold_combine", "galois", enc(&gal_b));

    // Decryption and re-encryption of the fixture's prepared ciphertext.
    let mut ds = Vec::new();
    for (a, log) in active.iter().zip(logs.iter_mut()) {
        ds.push(
            a.decryption_share(f.dec.input(), log, &mut rng)?
                .to_bytes(r)?,
        );
    }
    let mut ps = Vec::new();
    let mut fresh: Vec<_> = (0..3).map(|_| InMemoryShareLogForTesting::new()).collect();
    for (a, log) in active.iter().zip(fresh.iter_mut()) {
        ps.push(
            a.pk_switch_share(f.dec.input(), &f.receiver_pk, log, &mut rng)?
                .to_bytes(r)?,
        );
    }
    push(
        "decode_threshold_decryption",
        "decryption_share",
        ds[0].clone(),
    );
    push(
        "decode_threshold_decryption",
        "pk_switch_share",
        ps[0].clone(),
    );
    push("threshold_combine", "decryption", enc(&ds));
    push("threshold_combine", "pk_switch", enc(&ps));

    // Shamir re-sharing: every party deals to every party; seeds hold what party 1 receives.
    let mut to_first = Vec::new();
    for ((s, k), log) in f.secrets.iter().zip(&f.transport).zip(logs.iter_mut()) {
        let msgs = deal(
            s,
            &f.reshared,
            &f.deal_instance,
            k,
            &f.transport_pubs,
            log,
            &mut rng,
        )?;
        to_first.extend(
            msgs.into_iter()
                .filter(|m| m.receiver == f.committee.ids()[0])
                .map(|m| m.to_bytes(r)),
        );
    }
    push(
        "decode_threshold_setup",
        "sealed_share",
        to_first[1].clone(),
    );
    push("threshold_combine", "sealed_shares", enc(&to_first));

    // Setup objects.
    push("decode_threshold_setup", "committee", f.reshared.to_bytes());
    let sub = ActiveSet::new(&f.reshared, &f.reshared.ids()[1..])?;
    push(
        "decode_threshold_setup",
        "active_set",
        sub.to_bytes(&f.reshared)?,
    );
    push("decode_threshold_setup", "crs", f.crs.to_bytes());

    // Secrets (a fresh additive one, and a Shamir one from the re-sharing above).
    push(
        "decode_threshold_secrets",
        "additive",
        f.secrets[1].to_bytes()?.to_vec(),
    );
    let opened = to_first
        .iter()
        .map(|b| SealedShare::from_bytes(r, b).and_then(|m| open_sealed(f, &m)))
        .collect::<Result<Vec<_>>>()?;
    let shamir = PartySecret::from_dealt(
        r,
        &f.reshared,
        f.committee.ids()[0],
        &f.deal_instance,
        &opened,
    )?;
    push(
        "decode_threshold_secrets",
        "shamir",
        shamir.to_bytes()?.to_vec(),
    );
    push(
        "decode_threshold_secrets",
        "relin_ephemeral",
        f.ephemerals[0].to_vec(),
    );
    push(
        "decode_threshold_secrets",
        "transport_key",
        f.transport[2].to_bytes()?.to_vec(),
    );
    Ok(out)
}

/// Every threshold target: `(name, entry point)`.
pub const THRESHOLD_TARGETS: [(&str, super::Target); 5] = [
    ("decode_threshold_keygen", decode_threshold_keygen),
    ("decode_threshold_decryption", decode_threshold_decryption),
    ("decode_threshold_setup", decode_threshold_setup),
    ("decode_threshold_secrets", decode_threshold_secrets),
    ("threshold_combine", threshold_combine),
];
