//! Helpers shared by the threshold integration tests: a simulated committee whose parties each
//! keep their own secret share and share log (the ideal secret key is never formed here).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use migrationfhe::rlwe::{GaloisKey, PublicKey, RelinearizationKey, RlweParams};
use migrationfhe::threshold::{
    ActiveSet, Committee, Crp, Crs, GaloisKeyShare, InMemoryShareLogForTesting, PartyId,
    PartySecret, ProtocolKind, PublicKeyShare, RelinRound1Share, RelinRound2Share,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::sync::Arc;

/// `n` parties with additive shares, one log each, a CRS.
pub struct Group {
    pub params: Arc<RlweParams>,
    pub committee: Committee,
    pub secrets: Vec<PartySecret>,
    pub logs: Vec<InMemoryShareLogForTesting>,
    pub crs: Crs,
    pub rng: ChaCha20Rng,
}

impl Group {
    pub fn new(params: &Arc<RlweParams>, n: u32, seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let committee = Committee::numbered(n, n as usize).unwrap();
        let secrets = committee
            .ids()
            .iter()
            .map(|&id| PartySecret::generate(params, &committee, id, &mut rng).unwrap())
            .collect();
        let logs = (0..n).map(|_| InMemoryShareLogForTesting::new()).collect();
        let crs = Crs::random(&mut rng);
        Self {
            params: Arc::clone(params),
            committee,
            secrets,
            logs,
            crs,
            rng,
        }
    }

    pub fn all(&self) -> ActiveSet {
        self.committee.all().unwrap()
    }

    pub fn index(&self, id: PartyId) -> usize {
        self.secrets.iter().position(|s| s.id() == id).unwrap()
    }

    /// Collective public key among `set`.
    pub fn public_key(&mut self, set: &ActiveSet, label: &[u8]) -> PublicKey {
        let inst = Crp::new(
            &self.params,
            &self.crs.instance(ProtocolKind::PublicKey, label),
        )
        .unwrap();
        let mut shares = Vec::new();
        for &id in set.ids() {
            let i = self.index(id);
            let a = self.secrets[i].active(set).unwrap();
            shares.push(
                a.public_key_share(&inst, &mut self.logs[i], &mut self.rng)
                    .unwrap(),
            );
        }
        PublicKeyShare::aggregate(&self.params, &inst, set, &shares).unwrap()
    }

    /// Collective relinearisation key among `set` (two rounds).
    pub fn relin_key(&mut self, set: &ActiveSet, label: &[u8]) -> RelinearizationKey {
        let inst = Crp::new(
            &self.params,
            &self.crs.instance(ProtocolKind::RelinRound1, label),
        )
        .unwrap();
        let mut eph = Vec::new();
        let mut r1 = Vec::new();
        for &id in set.ids() {
            let i = self.index(id);
            let a = self.secrets[i].active(set).unwrap();
            let (e, s) = a
                .relin_round1(&inst, &mut self.logs[i], &mut self.rng)
                .unwrap();
            eph.push(e);
            r1.push(s);
        }
        let agg = RelinRound1Share::aggregate(&self.params, &inst, set, &r1).unwrap();
        let mut r2 = Vec::new();
        for (&id, e) in set.ids().iter().zip(eph) {
            let i = self.index(id);
            let a = self.secrets[i].active(set).unwrap();
            r2.push(
                a.relin_round2(&inst, e, &agg, &mut self.logs[i], &mut self.rng)
                    .unwrap(),
            );
        }
        RelinRound2Share::aggregate(&self.params, &inst, set, &r2).unwrap()
    }

    /// Collective Galois key of element `g` among `set`.
    pub fn galois_key(&mut self, set: &ActiveSet, g: u64, label: &[u8]) -> GaloisKey {
        let mut l = label.to_vec();
        l.extend_from_slice(&g.to_le_bytes());
        let inst = Crp::new(&self.params, &self.crs.instance(ProtocolKind::Galois, &l)).unwrap();
        let mut shares = Vec::new();
        for &id in set.ids() {
            let i = self.index(id);
            let a = self.secrets[i].active(set).unwrap();
            shares.push(
                a.galois_key_share(&inst, g, &mut self.logs[i], &mut self.rng)
                    .unwrap(),
            );
        }
        GaloisKeyShare::aggregate(&self.params, &inst, set, &shares).unwrap()
    }
}
