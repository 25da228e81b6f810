//! t-out-of-n thresholdisation (eprint 2022/780) with n = 7, t = 4: re-sharing through sealed
//! point-to-point messages, every 4-subset decrypts (35 subsets), key generation by a subset,
//! and a 3-subset is refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::needless_range_loop
)]

mod threshold_support;

use migrationfhe::bfv;
use migrationfhe::error::{Error, ThresholdError};
use migrationfhe::threshold::{
    deal, ActiveSet, BfvDecryption, Committee, Crp, DecryptionPolicy, PartyId, PartySecret,
    ProtocolKind, SealedShare, TransportKey,
};
use threshold_support::Group;

/// Re-shares a group's additive secrets to threshold `t`; returns the new secrets.
fn thresholdize(g: &mut Group, t: usize) -> (Committee, Vec<PartySecret>) {
    let new = g.committee.with_threshold(t).unwrap();
    let inst = g.crs.instance(ProtocolKind::ShamirDeal, b"tofn/reshare");
    let transports: Vec<TransportKey> = g
        .secrets
        .iter()
        .map(|_| TransportKey::generate(&mut g.rng))
        .collect();
    let publics: Vec<(PartyId, [u8; 32])> = g
        .secrets
        .iter()
        .zip(&transports)
        .map(|(s, k)| (s.id(), *k.public()))
        .collect();
    // Each party deals; the sealed messages are what travels.
    let mut inbox: Vec<Vec<SealedShare>> = vec![Vec::new(); g.secrets.len()];
    for i in 0..g.secrets.len() {
        let sealed = deal(
            &g.secrets[i],
            &new,
            &inst,
            &transports[i],
            &publics,
            &mut g.logs[i],
            &mut g.rng,
        )
        .unwrap();
        assert_eq!(sealed.len(), g.secrets.len());
        for s in sealed {
            inbox[g.index(s.receiver)].push(s);
        }
    }
    // A party deals only once per instance.
    let again = deal(
        &g.secrets[0],
        &new,
        &inst,
        &transports[0],
        &publics,
        &mut g.logs[0],
        &mut g.rng,
    );
    assert!(matches!(
        again,
        Err(Error::Threshold(ThresholdError::RepeatedShare { .. }))
    ));
    let mut out = Vec::new();
    for (j, msgs) in inbox.iter().enumerate() {
        // A message opened by the wrong receiver does not authenticate.
        let other = (j + 1) % msgs.len();
        assert!(matches!(
            msgs[0].open(
                &g.params,
                &transports[other],
                &publics[g.index(msgs[0].sender)].1
            ),
            Err(Error::Threshold(ThresholdError::SealedShareRejected))
        ));
        // Nor a tampered one.
        let mut bad = msgs[0].clone();
        bad.ciphertext[5] ^= 1;
        assert!(bad
            .open(&g.params, &transports[j], &publics[g.index(bad.sender)].1)
            .is_err());
        let opened: Vec<_> = msgs
            .iter()
            .map(|m| {
                m.open(&g.params, &transports[j], &publics[g.index(m.sender)].1)
                    .unwrap()
            })
            .collect();
        // Fewer values than parties is refused.
        assert!(PartySecret::from_dealt(
            &g.params,
            &new,
            g.secrets[j].id(),
            &inst,
            &opened[..opened.len() - 1]
        )
        .is_err());
        out.push(
            PartySecret::from_dealt(&g.params, &new, g.secrets[j].id(), &inst, &opened).unwrap(),
        );
    }
    (new, out)
}

fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for mask in 0u32..(1 << n) {
        if mask.count_ones() as usize == k {
            out.push((0..n).filter(|i| mask >> i & 1 == 1).collect());
        }
    }
    out
}

#[test]
fn seven_parties_threshold_four() {
    let t_mod = bfv::T_20BIT;
    let params = bfv::Parameters::insecure_for_testing(2048, t_mod, 4).unwrap();
    let mut g = Group::new(params.ring(), 7, 77);
    let all = g.all();
    let pk = g.public_key(&all, b"tofn/pk");
    let (committee, shamir) = thresholdize(&mut g, 4);
    assert!(shamir.iter().all(PartySecret::is_shamir));
    let ids = committee.ids().to_vec();
    let policy = DecryptionPolicy::default();
    let n = params.degree();
    let sets = subsets(7, 4);
    assert_eq!(sets.len(), 35);
    for (k, subset) in sets.iter().enumerate() {
        let members: Vec<PartyId> = subset.iter().map(|&i| ids[i]).collect();
        let set = ActiveSet::new(&committee, &members).unwrap();
        let data: Vec<u64> = (0..n as u64).map(|j| (j * 31 + k as u64) % t_mod).collect();
        let ct = bfv::Ciphertext::encrypt_pk(
            &pk,
            &bfv::Plaintext::encode(&params, &data).unwrap(),
            &mut g.rng,
        )
        .unwrap();
        let dec = BfvDecryption::new(&ct, &set, &policy).unwrap();
        let shares: Vec<_> = subset
            .iter()
            .map(|&i| {
                shamir[i]
                    .active(&set)
                    .unwrap()
                    .decryption_share(dec.input(), &mut g.logs[i], &mut g.rng)
                    .unwrap()
            })
            .collect();
        assert_eq!(
            dec.combine(&set, &shares).unwrap().decode().unwrap(),
            data,
            "subset {subset:?}"
        );
        // Three of the four shares are not enough.
        assert!(matches!(
            dec.combine(&set, &shares[..3]),
            Err(Error::Threshold(ThresholdError::MissingShares { .. }))
        ));
        // A share computed for another subset is refused.
        if k == 0 {
            let other = ActiveSet::new(&committee, &ids[3..7]).unwrap();
            let mut log = migrationfhe::threshold::InMemoryShareLogForTesting::new();
            let dec2 = BfvDecryption::new(&ct, &other, &policy).unwrap();
            let foreign = shamir[3]
                .active(&other)
                .unwrap()
                .decryption_share(dec2.input(), &mut log, &mut g.rng)
                .unwrap();
            let mut mixed = shares.clone();
            mixed[3] = foreign;
            assert!(dec.combine(&set, &mixed).is_err());
            // The same party (3, in both subsets) refuses to share the same ciphertext again,
            // for the other subset, even with fresh randomness.
            let again = shamir[3].active(&other).unwrap().decryption_share(
                dec2.input(),
                &mut g.logs[3],
                &mut g.rng,
            );
            assert!(matches!(
                again,
                Err(Error::Threshold(ThresholdError::RepeatedShare { .. }))
            ));
        }
    }
    // A 3-subset is refused.
    assert!(matches!(
        ActiveSet::new(&committee, &ids[..3]),
        Err(Error::Threshold(ThresholdError::BelowThreshold {
            parties: 3,
            threshold: 4
        }))
    ));
    // A party outside the committee is refused.
    assert!(ActiveSet::new(
        &committee,
        &[ids[0], ids[1], ids[2], PartyId::new(99).unwrap()]
    )
    .is_err());
    // Four parties generate a relinearisation key and a multiplication decrypts with another
    // four: key generation works with t parties too.
    let set_a = ActiveSet::new(&committee, &ids[..4]).unwrap();
    let set_b = ActiveSet::new(&committee, &ids[3..]).unwrap();
    let inst = Crp::new(
        &g.params,
        &g.crs.instance(ProtocolKind::RelinRound1, b"tofn/rlk"),
    )
    .unwrap();
    let mut eph = Vec::new();
    let mut r1 = Vec::new();
    for i in 0..4 {
        let (e, s) = shamir[i]
            .active(&set_a)
            .unwrap()
            .relin_round1(&inst, &mut g.logs[i], &mut g.rng)
            .unwrap();
        eph.push(e);
        r1.push(s);
    }
    let agg = migrationfhe::threshold::RelinRound1Share::aggregate(&g.params, &inst, &set_a, &r1)
        .unwrap();
    let mut r2 = Vec::new();
    for (i, e) in eph.into_iter().enumerate() {
        r2.push(
            shamir[i]
                .active(&set_a)
                .unwrap()
                .relin_round2(&inst, e, &agg, &mut g.logs[i], &mut g.rng)
                .unwrap(),
        );
    }
    let rlk = migrationfhe::threshold::RelinRound2Share::aggregate(&g.params, &inst, &set_a, &r2)
        .unwrap();
    let x: Vec<u64> = (0..n as u64).map(|j| j % 1000).collect();
    let ct = bfv::Ciphertext::encrypt_pk(
        &pk,
        &bfv::Plaintext::encode(&params, &x).unwrap(),
        &mut g.rng,
    )
    .unwrap();
    let sq = bfv::Evaluator::new(&params)
        .multiply_relin(&ct, &ct, &rlk)
        .unwrap();
    let dec = BfvDecryption::new(&sq, &set_b, &policy).unwrap();
    let shares: Vec<_> = (3..7)
        .map(|i| {
            shamir[i]
                .active(&set_b)
                .unwrap()
                .decryption_share(dec.input(), &mut g.logs[i], &mut g.rng)
                .unwrap()
        })
        .collect();
    let want: Vec<u64> = x.iter().map(|v| v * v % t_mod).collect();
    assert_eq!(
        dec.combine(&set_b, &shares).unwrap().decode().unwrap(),
        want
    );
}
