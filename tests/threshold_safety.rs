//! Re-encryption to a receiver, repeat-share refusal (in memory and in a file log that
//! survives re-opening), aggregation checks, redaction; and the one reference test that forms
//! the ideal secret key (to check the collective keys against single-key decryption).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod threshold_support;

use migrationfhe::bfv;
use migrationfhe::ckks;
use migrationfhe::error::{Error, ThresholdError};
use migrationfhe::rlwe::{PublicKey, SecretKey};
use migrationfhe::threshold::{
    ideal_secret_key_for_reference_test, BfvDecryption, CkksDecryption, Crp, DecryptionPolicy,
    FileShareLog, KeyAggregator, ProtocolKind, PublicKeyShare,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use threshold_support::Group;

fn bfv_params() -> std::sync::Arc<bfv::Parameters> {
    bfv::Parameters::insecure_for_testing(2048, bfv::T_20BIT, 4).unwrap()
}

fn is_repeat<T>(r: &Result<T, Error>) -> bool {
    matches!(
        r,
        Err(Error::Threshold(ThresholdError::RepeatedShare { .. }))
    )
}

#[test]
fn bfv_public_key_switch_to_receiver() {
    let params = bfv_params();
    let mut g = Group::new(params.ring(), 5, 11);
    let set = g.all();
    let pk = g.public_key(&set, b"pks/pk");
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let receiver = SecretKey::generate(params.ring(), &mut rng).unwrap();
    let receiver_pk = PublicKey::generate(&receiver, &mut rng).unwrap();
    let stranger = SecretKey::generate(params.ring(), &mut rng).unwrap();
    let n = params.degree();
    let x: Vec<u64> = (0..n as u64).map(|j| (j * 17) % 5000).collect();
    let ct =
        bfv::Ciphertext::encrypt_pk(&pk, &bfv::Plaintext::encode(&params, &x).unwrap(), &mut rng)
            .unwrap();
    let dec = BfvDecryption::new(&ct, &set, &DecryptionPolicy::default()).unwrap();
    let shares: Vec<_> = (0..5)
        .map(|i| {
            g.secrets[i]
                .active(&set)
                .unwrap()
                .pk_switch_share(dec.input(), &receiver_pk, &mut g.logs[i], &mut g.rng)
                .unwrap()
        })
        .collect();
    let out = dec.combine_pk_switch(&set, &shares).unwrap();
    assert!(out.estimated_budget() > 0.0);
    assert_eq!(out.decrypt(&receiver).unwrap().decode().unwrap(), x);
    assert_ne!(out.decrypt(&stranger).unwrap().decode().unwrap(), x);
    // A party that re-encrypted a ciphertext refuses to decrypt it too.
    let again = g.secrets[0].active(&set).unwrap().decryption_share(
        dec.input(),
        &mut g.logs[0],
        &mut g.rng,
    );
    assert!(is_repeat(&again));
}

#[test]
fn ckks_public_key_switch_to_receiver() {
    let params = ckks::Parameters::preset(ckks::Preset::InsecureN2048Depth12Scale40).unwrap();
    let mut g = Group::new(params.rlwe(), 4, 13);
    let set = g.all();
    let pk = ckks::PublicKey::from_rlwe(&g.public_key(&set, b"pks/pk"));
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let receiver = SecretKey::generate(params.rlwe(), &mut rng).unwrap();
    let receiver_pk = PublicKey::generate(&receiver, &mut rng).unwrap();
    let stranger = SecretKey::generate(params.rlwe(), &mut rng).unwrap();
    let x: Vec<f64> = (0..params.slots())
        .map(|j| (j % 17) as f64 / 17.0)
        .collect();
    let ct = ckks::encrypt(&params, &pk, &params.encode_real_top(&x).unwrap(), &mut rng).unwrap();
    let policy = DecryptionPolicy::insecure_for_testing(4);
    let dec = CkksDecryption::new(&params, &ct, &set, &policy).unwrap();
    let shares: Vec<_> = (0..4)
        .map(|i| {
            g.secrets[i]
                .active(&set)
                .unwrap()
                .pk_switch_share(dec.input(), &receiver_pk, &mut g.logs[i], &mut g.rng)
                .unwrap()
        })
        .collect();
    let out = dec.combine_pk_switch(&set, &shares).unwrap();
    let err = |sk: &SecretKey| {
        let got = params
            .decode(&ckks::decrypt(&params, sk, &out).unwrap())
            .unwrap();
        got.iter()
            .zip(&x)
            .map(|(a, b)| (a.re - b).abs())
            .fold(0.0, f64::max)
    };
    let bound = out.estimate().max_error(params.slots());
    assert!(
        err(&receiver) <= bound && bound < 0.1,
        "{} {bound}",
        err(&receiver)
    );
    assert!(err(&stranger) > 1.0);
}

#[test]
fn repeated_shares_are_refused() {
    let params = bfv_params();
    let mut g = Group::new(params.ring(), 3, 21);
    let set = g.all();
    // Key generation: a second share for the same instance (CRP) is refused, also for a
    // Galois key of another element on the same instance.
    let inst = Crp::new(
        &g.params,
        &g.crs.instance(ProtocolKind::PublicKey, b"rep/pk"),
    )
    .unwrap();
    let a = g.secrets[0].active(&set).unwrap();
    a.public_key_share(&inst, &mut g.logs[0], &mut g.rng)
        .unwrap();
    assert!(is_repeat(&a.public_key_share(
        &inst,
        &mut g.logs[0],
        &mut g.rng
    )));
    let ginst = Crp::new(&g.params, &g.crs.instance(ProtocolKind::Galois, b"rep/gal")).unwrap();
    a.galois_key_share(&ginst, 3, &mut g.logs[0], &mut g.rng)
        .unwrap();
    assert!(is_repeat(&a.galois_key_share(
        &ginst,
        5,
        &mut g.logs[0],
        &mut g.rng
    )));
    let rinst = Crp::new(
        &g.params,
        &g.crs.instance(ProtocolKind::RelinRound1, b"rep/rlk"),
    )
    .unwrap();
    a.relin_round1(&rinst, &mut g.logs[0], &mut g.rng).unwrap();
    assert!(is_repeat(&a.relin_round1(
        &rinst,
        &mut g.logs[0],
        &mut g.rng
    )));
    // Decryption: the same ciphertext prepared at another level (another c1 after modulus
    // switching) is still the same input.
    let pk = g.public_key(&set, b"rep/pk2");
    let ct = bfv::Ciphertext::encrypt_pk(
        &pk,
        &bfv::Plaintext::encode(&params, &[1, 2, 3]).unwrap(),
        &mut g.rng,
    )
    .unwrap();
    let low = BfvDecryption::new(&ct, &set, &DecryptionPolicy::default()).unwrap();
    let high = BfvDecryption::new(
        &ct,
        &set,
        &DecryptionPolicy::default().with_min_level(ct.level()),
    )
    .unwrap();
    assert!(low.input().level() < high.input().level());
    let a1 = g.secrets[1].active(&set).unwrap();
    a1.decryption_share(low.input(), &mut g.logs[1], &mut g.rng)
        .unwrap();
    assert!(is_repeat(&a1.decryption_share(
        high.input(),
        &mut g.logs[1],
        &mut g.rng
    )));
    // An instance of the wrong kind is refused.
    assert!(a
        .public_key_share(&ginst, &mut g.logs[1], &mut g.rng)
        .is_err());
}

#[test]
fn file_log_survives_reopening() {
    let params = bfv_params();
    let mut g = Group::new(params.ring(), 3, 31);
    let set = g.all();
    let pk = g.public_key(&set, b"file/pk");
    let dir = std::env::temp_dir().join(format!("mfhe-thr-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("party1.log");
    let _ = std::fs::remove_file(&path);
    let mut rng = ChaCha20Rng::seed_from_u64(32);
    let x: Vec<u64> = (0..10).collect();
    let ct =
        bfv::Ciphertext::encrypt_pk(&pk, &bfv::Plaintext::encode(&params, &x).unwrap(), &mut rng)
            .unwrap();
    let dec = BfvDecryption::new(&ct, &set, &DecryptionPolicy::default()).unwrap();
    {
        let mut log = FileShareLog::open(&path).unwrap();
        let a = g.secrets[0].active(&set).unwrap();
        a.decryption_share(dec.input(), &mut log, &mut g.rng)
            .unwrap();
        assert!(is_repeat(&a.decryption_share(
            dec.input(),
            &mut log,
            &mut g.rng
        )));
        assert_eq!(log.len(), 2); // the ciphertext and its switched form
    }
    // A restarted party (same file) still refuses, even with a fresh generator.
    let mut log = FileShareLog::open(&path).unwrap();
    assert_eq!(log.len(), 2); // the ciphertext and its switched form
    let mut fresh = ChaCha20Rng::seed_from_u64(999);
    let a = g.secrets[0].active(&set).unwrap();
    assert!(is_repeat(&a.decryption_share(
        dec.input(),
        &mut log,
        &mut fresh
    )));
    // A corrupted log is refused rather than silently emptied.
    std::fs::write(&path, b"not a record\n").unwrap();
    assert!(matches!(
        FileShareLog::open(&path),
        Err(Error::Threshold(ThresholdError::Log { .. }))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn aggregation_checks() {
    let params = bfv_params();
    let mut g = Group::new(params.ring(), 4, 41);
    let set = g.all();
    let inst = Crp::new(
        &g.params,
        &g.crs.instance(ProtocolKind::PublicKey, b"agg/pk"),
    )
    .unwrap();
    let shares: Vec<_> = (0..4)
        .map(|i| {
            g.secrets[i]
                .active(&set)
                .unwrap()
                .public_key_share(&inst, &mut g.logs[i], &mut g.rng)
                .unwrap()
        })
        .collect();
    let p = &g.params;
    assert!(PublicKeyShare::aggregate(p, &inst, &set, &shares).is_ok());
    let err = |r: Result<PublicKey, Error>| match r {
        Err(Error::Threshold(e)) => e,
        other => panic!("{other:?}"),
    };
    // Missing.
    assert!(matches!(
        err(PublicKeyShare::aggregate(p, &inst, &set, &shares[..3])),
        ThresholdError::MissingShares {
            received: 3,
            expected: 4
        }
    ));
    // Duplicate.
    let mut dup = shares.clone();
    dup[3] = dup[2].clone();
    assert!(matches!(
        err(PublicKeyShare::aggregate(p, &inst, &set, &dup)),
        ThresholdError::DuplicateParty { .. }
    ));
    // Another instance.
    let other = Crp::new(
        &g.params,
        &g.crs.instance(ProtocolKind::PublicKey, b"agg/other"),
    )
    .unwrap();
    assert!(matches!(
        err(PublicKeyShare::aggregate(p, &other, &set, &shares)),
        ThresholdError::WrongInstance
    ));
    // Another parameter set (same shares, different ring).
    let other_params = bfv::Parameters::insecure_for_testing(2048, bfv::T_20BIT, 3).unwrap();
    assert!(matches!(
        PublicKeyShare::aggregate(other_params.ring(), &inst, &set, &shares),
        Err(Error::ContextMismatch)
    ));
    // Outside the set: a share from a party of another committee with the same digest is
    // impossible; a share whose sender is not in the set is refused.
    let mut foreign = shares.clone();
    foreign[0].header.party = migrationfhe::threshold::PartyId::new(50).unwrap();
    assert!(matches!(
        err(PublicKeyShare::aggregate(p, &inst, &set, &foreign)),
        ThresholdError::UnexpectedParty { party: 50 }
    ));
    // Incremental aggregation: the same key as the batch one; a refused share (duplicate,
    // foreign) leaves the sum unchanged; finishing early is refused.
    let mut inc = KeyAggregator::<PublicKeyShare>::new(p, &inst, &set).unwrap();
    for (k, s) in shares.iter().enumerate() {
        inc.add(s).unwrap();
        if k == 1 {
            assert!(matches!(
                inc.add(&shares[0]),
                Err(Error::Threshold(ThresholdError::DuplicateParty { .. }))
            ));
            assert!(matches!(
                inc.add(&foreign[0]),
                Err(Error::Threshold(ThresholdError::UnexpectedParty {
                    party: 50
                }))
            ));
        }
    }
    assert_eq!(inc.received(), 4);
    assert_eq!(
        inc.finish().unwrap(),
        PublicKeyShare::aggregate(p, &inst, &set, &shares).unwrap()
    );
    let mut early = KeyAggregator::<PublicKeyShare>::new(p, &inst, &set).unwrap();
    early.add(&shares[0]).unwrap();
    assert!(matches!(
        early.finish(),
        Err(Error::Threshold(ThresholdError::MissingShares {
            received: 1,
            expected: 4
        }))
    ));
    // An aggregator for a relinearisation share on a public-key instance is refused.
    assert!(matches!(
        KeyAggregator::<migrationfhe::threshold::RelinRound1Share>::new(p, &inst, &set),
        Err(Error::Threshold(ThresholdError::WrongInstance))
    ));
    // Secrets print nothing.
    let dbg = format!(
        "{:?} {:?}",
        g.secrets[0],
        g.secrets[0].active(&set).unwrap()
    );
    assert!(dbg.contains("redacted"));
    // Lambda below 40 needs the explicitly insecure option.
    assert!(matches!(
        DecryptionPolicy::with_lambda(30),
        Err(Error::Threshold(ThresholdError::InsecureSmudging {
            lambda: 30
        }))
    ));
}

/// The ONE reference test that forms the ideal secret key `s = Σ s_i` (which deployments never
/// do): collective public, relinearisation and Galois keys are checked against single-key
/// decryption, and the measured noise against the public collective estimate.
#[test]
fn reference_ideal_key_checks_collective_keys() {
    let params = bfv_params();
    let mut g = Group::new(params.ring(), 8, 51);
    let set = g.all();
    let pk = g.public_key(&set, b"ref/pk");
    let rlk = g.relin_key(&set, b"ref/rlk");
    let n = params.degree();
    let rot = bfv::rotation_element(n, 3);
    let mut keys = bfv::GaloisKeys::default();
    keys.insert(g.galois_key(&set, rot, b"ref/rot"));
    let refs: Vec<_> = g.secrets.iter().collect();
    let ideal = ideal_secret_key_for_reference_test(&refs).unwrap();
    let x: Vec<u64> = (0..n as u64).map(|j| j % 300).collect();
    let ct = bfv::Ciphertext::encrypt_pk(
        &pk,
        &bfv::Plaintext::encode(&params, &x).unwrap(),
        &mut g.rng,
    )
    .unwrap();
    let ev = bfv::Evaluator::new(&params);
    let sq = ev.multiply_relin(&ct, &ct, &rlk).unwrap();
    let r = ev.rotate_rows(&ct, 3, &keys).unwrap();
    assert_eq!(ct.decrypt(&ideal).unwrap().decode().unwrap(), x);
    let want: Vec<u64> = x.iter().map(|v| v * v % bfv::T_20BIT).collect();
    assert_eq!(sq.decrypt(&ideal).unwrap().decode().unwrap(), want);
    let half = n / 2;
    let want_rot: Vec<u64> = (0..n)
        .map(|j| x[(j / half) * half + (j % half + 3) % half])
        .collect();
    assert_eq!(r.decrypt(&ideal).unwrap().decode().unwrap(), want_rot);
    // Measured noise within the collective estimate (single-key estimate times n).
    for c in [&ct, &sq] {
        let measured = c.noise_log2_vartime(&ideal).unwrap();
        let estimate = c.noise_estimate().log2_bound(n, 40) + 3.0; // + log2(8 parties)
        assert!(
            measured <= estimate,
            "measured {measured} > estimate {estimate}"
        );
    }
    // Reference aggregation rejects an incomplete set.
    assert!(ideal_secret_key_for_reference_test(&refs[..7]).is_err());
}
