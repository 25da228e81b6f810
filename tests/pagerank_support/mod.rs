//! Shared set-up of the PageRank tests (`analytics_graph`, `analytics_pagerank_depth15`): the
//! bundled Abel–Sander data, a ten-agency PageRank specification (one agency per region),
//! signed submissions and the top 10 of a score vector.
#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use migrationfhe::analytics::data::AbelSander;
use migrationfhe::analytics::graph::{self, DiagonalLayout, PageRankSpec};
use migrationfhe::analytics::{Encryptor, SlotBackend, Submission};
use rand_core::SeedableRng;
use std::path::PathBuf;

pub fn data() -> AbelSander {
    AbelSander::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")).unwrap()
}

pub fn spec(d: &AbelSander, iterations: usize) -> PageRankSpec {
    let regions = d.region_of();
    PageRankSpec {
        analysis: "test pagerank".into(),
        label: "2005-2010".into(),
        n: d.n(),
        agencies: (0..10)
            .map(|r| {
                (
                    format!("agency-{r}"),
                    (0..d.n()).filter(|&i| regions[i] == r).collect(),
                )
            })
            .collect(),
        damping: 0.85,
        iterations,
    }
}

pub fn submit<B: SlotBackend<Value = f64>, E: Encryptor<B>>(
    be: &B,
    enc: &E,
    spec: &PageRankSpec,
    flows: &[u64],
) -> Vec<Submission<B::Ct>> {
    let layout = DiagonalLayout::new(spec.n, be.slots()).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
    (0..spec.agencies.len())
        .map(|a| {
            let v = graph::contribution(spec, &layout, a, flows).unwrap();
            let cts = v
                .iter()
                .map(|x| enc.encrypt(x, &mut rng).unwrap())
                .collect();
            Submission::sign(
                be,
                &spec.analysis,
                &spec.agencies[a].0,
                &graph::contribution_label(spec),
                cts,
                &SigningKey::from_bytes(&[a as u8 + 11; 32]),
            )
        })
        .collect()
}

pub fn top10(scores: &[f64]) -> Vec<usize> {
    let mut r: Vec<usize> = (0..scores.len()).collect();
    r.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    r.truncate(10);
    r
}
