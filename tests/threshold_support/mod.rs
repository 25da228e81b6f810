//! Helpers shared by the threshold integration tests: a simulated committee whose parties each
//! keep their own secret share and share log (the ideal secret key is never formed here).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use migrationfhe::rlwe::{GaloisKey, PublicKey, RelinearizationKey, RlweParams};
use migrationfhe::threshold::{
    ActiveSet, Committee, Crp, Crs, GaloisKeyShare, InMemoryShareLogForTesting, KeyAggregator,
    PartyId, PartySecret, ProtocolKind, PublicKeyShare, RelinEphemeral, RelinRound1Share,
    RelinRound2Share,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
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

    /// Collective relinearisation key among `set` (two rounds). With the whole committee, the
    /// parties' steps run on two threads (each party still uses only its own secret and log).
    pub fn relin_key(&mut self, set: &ActiveSet, label: &[u8]) -> RelinearizationKey {
        let inst = Crp::new(
            &self.params,
            &self.crs.instance(ProtocolKind::RelinRound1, label),
        )
        .unwrap();
        let all = set.len() == self.secrets.len();
        let members: Vec<usize> = set.ids().iter().map(|&id| self.index(id)).collect();
        let seeds: Vec<u64> = (0..self.secrets.len())
            .map(|_| self.rng.next_u64())
            .collect();
        let half = self.secrets.len().div_ceil(2).max(1);
        let round1 =
            |secrets: &[PartySecret], logs: &mut [InMemoryShareLogForTesting], seeds: &[u64]| {
                secrets
                    .iter()
                    .zip(logs.iter_mut())
                    .zip(seeds)
                    .map(|((s, l), &seed)| {
                        let mut rng = ChaCha20Rng::seed_from_u64(seed);
                        s.active(set)
                            .unwrap()
                            .relin_round1(&inst, l, &mut rng)
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            };
        let out1: Vec<(RelinEphemeral, RelinRound1Share)> = if all {
            std::thread::scope(|sc| {
                let handles: Vec<_> = self
                    .secrets
                    .chunks(half)
                    .zip(self.logs.chunks_mut(half))
                    .zip(seeds.chunks(half))
                    .map(|((s, l), sd)| sc.spawn(move || round1(s, l, sd)))
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap())
                    .collect()
            })
        } else {
            members
                .iter()
                .map(|&i| {
                    round1(
                        std::slice::from_ref(&self.secrets[i]),
                        std::slice::from_mut(&mut self.logs[i]),
                        &seeds[i..=i],
                    )
                    .pop()
                    .unwrap()
                })
                .collect()
        };
        let (eph, r1): (Vec<_>, Vec<_>) = out1.into_iter().unzip();
        let agg = RelinRound1Share::aggregate(&self.params, &inst, set, &r1).unwrap();
        let round2 = |secrets: &[PartySecret],
                      logs: &mut [InMemoryShareLogForTesting],
                      eph: Vec<RelinEphemeral>,
                      seeds: &[u64]| {
            secrets
                .iter()
                .zip(logs.iter_mut())
                .zip(eph)
                .zip(seeds)
                .map(|(((s, l), e), &seed)| {
                    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x5555);
                    s.active(set)
                        .unwrap()
                        .relin_round2(&inst, e, &agg, l, &mut rng)
                        .unwrap()
                })
                .collect::<Vec<_>>()
        };
        let r2: Vec<RelinRound2Share> = if all {
            let mut eph = eph;
            let mut chunks = Vec::new();
            while !eph.is_empty() {
                let rest = eph.split_off(half.min(eph.len()));
                chunks.push(eph);
                eph = rest;
            }
            std::thread::scope(|sc| {
                let handles: Vec<_> = self
                    .secrets
                    .chunks(half)
                    .zip(self.logs.chunks_mut(half))
                    .zip(chunks)
                    .zip(seeds.chunks(half))
                    .map(|(((s, l), e), sd)| sc.spawn(move || round2(s, l, e, sd)))
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap())
                    .collect()
            })
        } else {
            members
                .iter()
                .zip(eph)
                .map(|(&i, e)| {
                    round2(
                        std::slice::from_ref(&self.secrets[i]),
                        std::slice::from_mut(&mut self.logs[i]),
                        vec![e],
                        &seeds[i..=i],
                    )
                    .pop()
                    .unwrap()
                })
                .collect()
        };
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

/// A committee simulated as separate parties would run it, for large `n` at large `N`: each
/// party's secret and round-1 ephemeral are kept serialised (2 bits a coefficient, as a
/// party process keeps them in its files between rounds) and decoded when used; the parties'
/// steps run on two worker threads and the shares stream into one [`KeyAggregator`] (memory
/// independent of `n`). The ideal secret key is never formed.
pub struct LeanGroup {
    pub params: Arc<RlweParams>,
    pub committee: Committee,
    secrets: Vec<zeroize::Zeroizing<Vec<u8>>>,
    pub logs: Vec<InMemoryShareLogForTesting>,
    pub crs: Crs,
    pub rng: ChaCha20Rng,
}

const WORKERS: usize = 2;

impl LeanGroup {
    pub fn new(params: &Arc<RlweParams>, n: u32, seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let committee = Committee::numbered(n, n as usize).unwrap();
        let secrets = committee
            .ids()
            .iter()
            .map(|&id| {
                PartySecret::generate(params, &committee, id, &mut rng)
                    .unwrap()
                    .to_bytes()
                    .unwrap()
            })
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

    /// Runs `step` for every party (index, its decoded secret, its log, a fresh generator) on
    /// the worker threads and hands each result to `sink` on this thread, as it comes.
    pub fn each_party<T: Send>(
        &mut self,
        step: impl Fn(usize, &PartySecret, &mut InMemoryShareLogForTesting, &mut ChaCha20Rng) -> T
            + Sync,
        mut sink: impl FnMut(T),
    ) {
        let n = self.secrets.len();
        let chunk = n.div_ceil(WORKERS).max(1);
        let seeds: Vec<u64> = (0..n).map(|_| self.rng.next_u64()).collect();
        let (params, secrets, step) = (&self.params, &self.secrets, &step);
        std::thread::scope(|sc| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<T>(2);
            for (w, logs) in self.logs.chunks_mut(chunk).enumerate() {
                let tx = tx.clone();
                let seeds = &seeds;
                sc.spawn(move || {
                    for (k, log) in logs.iter_mut().enumerate() {
                        let i = w * chunk + k;
                        let s = PartySecret::from_bytes(params, &secrets[i]).unwrap();
                        let mut rng = ChaCha20Rng::seed_from_u64(seeds[i]);
                        tx.send(step(i, &s, log, &mut rng)).unwrap();
                    }
                });
            }
            drop(tx);
            for t in rx {
                sink(t);
            }
        });
    }

    /// Collective public key of the whole committee.
    pub fn public_key(&mut self, label: &[u8]) -> PublicKey {
        let set = self.all();
        let params = Arc::clone(&self.params);
        let crp = Crp::new(&params, &self.crs.instance(ProtocolKind::PublicKey, label)).unwrap();
        let mut agg = KeyAggregator::<PublicKeyShare>::new(&params, &crp, &set).unwrap();
        self.each_party(
            |_, s, log, rng| {
                s.active(&set)
                    .unwrap()
                    .public_key_share(&crp, log, rng)
                    .unwrap()
            },
            |sh| agg.add(&sh).unwrap(),
        );
        agg.finish().unwrap()
    }

    /// Collective relinearisation key of the whole committee (two rounds).
    pub fn relin_key(&mut self, label: &[u8]) -> RelinearizationKey {
        let set = self.all();
        let params = Arc::clone(&self.params);
        let crp = Crp::new(
            &params,
            &self.crs.instance(ProtocolKind::RelinRound1, label),
        )
        .unwrap();
        let mut eph: Vec<Option<zeroize::Zeroizing<Vec<u8>>>> = vec![None; self.secrets.len()];
        let mut agg1 = KeyAggregator::<RelinRound1Share>::new(&params, &crp, &set).unwrap();
        self.each_party(
            |i, s, log, rng| {
                let (e, sh) = s
                    .active(&set)
                    .unwrap()
                    .relin_round1(&crp, log, rng)
                    .unwrap();
                (i, e.to_bytes(&params).unwrap(), sh)
            },
            |(i, e, sh)| {
                eph[i] = Some(e);
                agg1.add(&sh).unwrap();
            },
        );
        let r1 = agg1.finish().unwrap();
        let eph = std::sync::Mutex::new(eph);
        let mut agg2 = KeyAggregator::<RelinRound2Share>::new(&params, &crp, &set).unwrap();
        self.each_party(
            |i, s, log, rng| {
                let bytes = eph.lock().unwrap()[i].take().unwrap();
                let e = RelinEphemeral::from_bytes(&params, &bytes).unwrap();
                s.active(&set)
                    .unwrap()
                    .relin_round2(&crp, e, &r1, log, rng)
                    .unwrap()
            },
            |sh| agg2.add(&sh).unwrap(),
        );
        agg2.finish().unwrap()
    }

    /// Every party's decryption share of `input`.
    pub fn decryption_shares(
        &mut self,
        input: &migrationfhe::threshold::DecryptionInput,
    ) -> Vec<migrationfhe::threshold::DecryptionShare> {
        let set = self.all();
        let mut out = Vec::new();
        self.each_party(
            |_, s, log, rng| {
                s.active(&set)
                    .unwrap()
                    .decryption_share(input, log, rng)
                    .unwrap()
            },
            |sh| out.push(sh),
        );
        out
    }
}
