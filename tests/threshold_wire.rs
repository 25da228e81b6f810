//! Every threshold message and party state round-trips through the wire format, decoders
//! refuse corrupted, truncated or foreign bytes, and the collective keys serialise with the
//! core key encodings (seeded `a`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::needless_range_loop
)]

mod threshold_support;

use migrationfhe::bfv;
use migrationfhe::error::{Error, WireError};
use migrationfhe::rlwe::{GaloisKey, PublicKey, RelinearizationKey};
use migrationfhe::threshold::{
    deal, ActiveSet, BfvDecryption, Committee, Crp, Crs, DecryptionPolicy, DecryptionShare,
    GaloisKeyShare, PartyId, PartySecret, PkSwitchShare, ProtocolKind, PublicKeyShare,
    RelinEphemeral, RelinRound1Aggregate, RelinRound1Share, RelinRound2Share, SealedShare,
    TransportKey,
};
use threshold_support::Group;

/// Flipping a payload byte, truncating, appending, or decoding with other parameters fails.
fn check_corruption<T: std::fmt::Debug>(bytes: &[u8], decode: impl Fn(&[u8]) -> Result<T, Error>) {
    let mut bad = bytes.to_vec();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x40;
    assert!(matches!(
        decode(&bad),
        Err(Error::Wire(WireError::ChecksumMismatch))
    ));
    assert!(decode(&bytes[..bytes.len() - 1]).is_err());
    let mut long = bytes.to_vec();
    long.push(0);
    assert!(decode(&long).is_err());
    assert!(decode(&[]).is_err());
}

#[test]
fn every_message_round_trips() {
    let params = bfv::Parameters::insecure_for_testing(1024, bfv::T_20BIT, 3).unwrap();
    let other = bfv::Parameters::insecure_for_testing(1024, bfv::T_20BIT, 2).unwrap();
    let ring = params.ring();
    let mut g = Group::new(ring, 3, 5);
    let set = g.all();
    let a0 = g.secrets[0].active(&set).unwrap();

    // Public-key share.
    let crp = Crp::new(ring, &g.crs.instance(ProtocolKind::PublicKey, b"w/pk")).unwrap();
    let s = a0
        .public_key_share(&crp, &mut g.logs[0], &mut g.rng)
        .unwrap();
    let b = s.to_bytes(ring).unwrap();
    assert_eq!(PublicKeyShare::from_bytes(ring, &b).unwrap(), s);
    check_corruption(&b, |x| PublicKeyShare::from_bytes(ring, x));
    assert!(matches!(
        PublicKeyShare::from_bytes(other.ring(), &b),
        Err(Error::Wire(WireError::ParameterMismatch))
    ));
    // A message of another kind is refused.
    assert!(matches!(
        DecryptionShare::from_bytes(ring, &b),
        Err(Error::Wire(WireError::WrongKind { .. }))
    ));

    // Relinearisation rounds, aggregate, ephemeral secret.
    let crp_r = Crp::new(ring, &g.crs.instance(ProtocolKind::RelinRound1, b"w/rlk")).unwrap();
    let mut eph = Vec::new();
    let mut r1 = Vec::new();
    for i in 0..3 {
        let a = g.secrets[i].active(&set).unwrap();
        let (e, sh) = a.relin_round1(&crp_r, &mut g.logs[i], &mut g.rng).unwrap();
        // The ephemeral secret goes through a file between the rounds.
        let eb = e.to_bytes(ring).unwrap();
        let e2 = RelinEphemeral::from_bytes(ring, &eb).unwrap();
        check_corruption(&eb, |x| RelinEphemeral::from_bytes(ring, x));
        eph.push(e2);
        let bytes = sh.to_bytes(ring).unwrap();
        let back = RelinRound1Share::from_bytes(ring, &bytes).unwrap();
        assert_eq!(back, sh);
        r1.push(back);
    }
    let agg = RelinRound1Share::aggregate(ring, &crp_r, &set, &r1).unwrap();
    let ab = agg.to_bytes(ring).unwrap();
    let agg2 = RelinRound1Aggregate::from_bytes(ring, &ab).unwrap();
    assert_eq!(agg2, agg);
    check_corruption(&ab, |x| RelinRound1Aggregate::from_bytes(ring, x));
    let mut r2 = Vec::new();
    for (i, e) in eph.into_iter().enumerate() {
        let a = g.secrets[i].active(&set).unwrap();
        let sh = a
            .relin_round2(&crp_r, e, &agg2, &mut g.logs[i], &mut g.rng)
            .unwrap();
        let bytes = sh.to_bytes(ring).unwrap();
        let back = RelinRound2Share::from_bytes(ring, &bytes).unwrap();
        assert_eq!(back, sh);
        r2.push(back);
    }
    let rlk = RelinRound2Share::aggregate(ring, &crp_r, &set, &r2).unwrap();
    // The collective key is seeded like a single-key one: only the b_j travel.
    let kb = rlk.to_bytes(ring).unwrap();
    assert_eq!(RelinearizationKey::from_bytes(ring, &kb).unwrap(), rlk);

    // Galois share and key.
    let crp_g = Crp::new(ring, &g.crs.instance(ProtocolKind::Galois, b"w/gal")).unwrap();
    let gs: Vec<_> = (0..3)
        .map(|i| {
            let sh = g.secrets[i]
                .active(&set)
                .unwrap()
                .galois_key_share(&crp_g, 5, &mut g.logs[i], &mut g.rng)
                .unwrap();
            let bytes = sh.to_bytes(ring).unwrap();
            let back = GaloisKeyShare::from_bytes(ring, &bytes).unwrap();
            assert_eq!(back, sh);
            back
        })
        .collect();
    let gk = GaloisKeyShare::aggregate(ring, &crp_g, &set, &gs).unwrap();
    assert_eq!(
        GaloisKey::from_bytes(ring, &gk.to_bytes(ring).unwrap()).unwrap(),
        gk
    );

    // Public key, decryption and pk-switch shares.
    let crp2 = Crp::new(ring, &g.crs.instance(ProtocolKind::PublicKey, b"w/pk2")).unwrap();
    let shares: Vec<_> = (0..3)
        .map(|i| {
            g.secrets[i]
                .active(&set)
                .unwrap()
                .public_key_share(&crp2, &mut g.logs[i], &mut g.rng)
                .unwrap()
        })
        .collect();
    let pk = PublicKeyShare::aggregate(ring, &crp2, &set, &shares).unwrap();
    assert_eq!(
        PublicKey::from_bytes(ring, &pk.to_bytes(ring).unwrap()).unwrap(),
        pk
    );
    let x: Vec<u64> = (0..64).collect();
    let ct = bfv::Ciphertext::encrypt_pk(
        &pk,
        &bfv::Plaintext::encode(&params, &x).unwrap(),
        &mut g.rng,
    )
    .unwrap();
    let dec = BfvDecryption::new(&ct, &set, &DecryptionPolicy::default()).unwrap();
    let ds: Vec<_> = (0..3)
        .map(|i| {
            let sh = g.secrets[i]
                .active(&set)
                .unwrap()
                .decryption_share(dec.input(), &mut g.logs[i], &mut g.rng)
                .unwrap();
            let bytes = sh.to_bytes(ring).unwrap();
            check_corruption(&bytes, |x| DecryptionShare::from_bytes(ring, x));
            DecryptionShare::from_bytes(ring, &bytes).unwrap()
        })
        .collect();
    assert_eq!(
        &dec.combine(&set, &ds).unwrap().decode().unwrap()[..64],
        &x[..]
    );
    let ct2 = bfv::Ciphertext::encrypt_pk(
        &pk,
        &bfv::Plaintext::encode(&params, &x).unwrap(),
        &mut g.rng,
    )
    .unwrap();
    let dec2 = BfvDecryption::new(&ct2, &set, &DecryptionPolicy::default()).unwrap();
    let ps = g.secrets[1]
        .active(&set)
        .unwrap()
        .pk_switch_share(dec2.input(), &pk, &mut g.logs[1], &mut g.rng)
        .unwrap();
    let pb = ps.to_bytes(ring).unwrap();
    assert_eq!(PkSwitchShare::from_bytes(ring, &pb).unwrap(), ps);
    check_corruption(&pb, |x| PkSwitchShare::from_bytes(ring, x));

    // Setup objects.
    let cb = g.committee.to_bytes();
    assert_eq!(Committee::from_bytes(&cb).unwrap(), g.committee);
    check_corruption(&cb, Committee::from_bytes);
    let sb = set.to_bytes(&g.committee).unwrap();
    assert_eq!(
        ActiveSet::from_bytes(&sb).unwrap(),
        (g.committee.clone(), set.clone())
    );
    let crs_b = g.crs.to_bytes();
    assert_eq!(Crs::from_bytes(&crs_b).unwrap(), g.crs);

    // Party secrets (additive and Shamir) and transport keys, through files.
    let dir = std::env::temp_dir().join(format!("mfhe-thr-wire-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for s in &g.secrets {
        let path = dir.join(format!("party{}.secret", s.id().get()));
        std::fs::write(&path, &*s.to_bytes().unwrap()).unwrap();
        let back = PartySecret::from_bytes(ring, &std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(back.to_bytes().unwrap(), s.to_bytes().unwrap());
        check_corruption(&std::fs::read(&path).unwrap(), |x| {
            PartySecret::from_bytes(ring, x)
        });
    }
    let new = g.committee.with_threshold(2).unwrap();
    let inst = g.crs.instance(ProtocolKind::ShamirDeal, b"w/deal");
    let keys: Vec<TransportKey> = (0..3).map(|_| TransportKey::generate(&mut g.rng)).collect();
    for k in &keys {
        let kb = k.to_bytes().unwrap();
        assert_eq!(TransportKey::from_bytes(&kb).unwrap().public(), k.public());
    }
    let pubs: Vec<(PartyId, [u8; 32])> = g
        .secrets
        .iter()
        .zip(&keys)
        .map(|(s, k)| (s.id(), *k.public()))
        .collect();
    let mut inbox: Vec<Vec<SealedShare>> = vec![Vec::new(); 3];
    for i in 0..3 {
        for m in deal(
            &g.secrets[i],
            &new,
            &inst,
            &keys[i],
            &pubs,
            &mut g.logs[i],
            &mut g.rng,
        )
        .unwrap()
        {
            let bytes = m.to_bytes(ring);
            let back = SealedShare::from_bytes(ring, &bytes).unwrap();
            assert_eq!(back, m);
            inbox[(m.receiver.get() - 1) as usize].push(back);
        }
    }
    for (j, msgs) in inbox.iter().enumerate() {
        let opened: Vec<_> = msgs
            .iter()
            .map(|m| {
                m.open(ring, &keys[j], &pubs[(m.sender.get() - 1) as usize].1)
                    .unwrap()
            })
            .collect();
        let s = PartySecret::from_dealt(ring, &new, g.secrets[j].id(), &inst, &opened).unwrap();
        let bytes = s.to_bytes().unwrap();
        let back = PartySecret::from_bytes(ring, &bytes).unwrap();
        assert!(back.is_shamir());
        assert_eq!(back.to_bytes().unwrap(), bytes);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
