//! CKKS results are bit-identical under every NTT backend this CPU runs (forced through
//! `MIGRATIONFHE_BACKEND`). Its own test binary with one test, because it changes the process
//! environment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use migrationfhe::ckks::{self, Complex, Evaluator, GaloisKeys, Parameters, Preset};
use migrationfhe::math::ntt::{Backend, BACKEND_ENV};
use migrationfhe::math::Modulus;
use migrationfhe::rlwe::{RelinearizationKey, SecretKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};

fn run() -> (Backend, [u8; 32]) {
    let params = Parameters::preset(Preset::InsecureN1024Depth4Scale30).unwrap();
    let backend = params.rlwe().ctx_q().plans()[0].backend();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let sk = SecretKey::generate(params.rlwe(), &mut rng).unwrap();
    let pk = ckks::PublicKey::generate(&sk, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let gks = GaloisKeys::generate(&params, &sk, &[1, 5], true, &mut rng).unwrap();
    let ev = Evaluator::new(&params);
    let z: Vec<Complex> = (0..params.slots())
        .map(|j| Complex::new(f64::from(u32::try_from(j).unwrap()) / 600.0, -0.25))
        .collect();
    let l = params.max_level();
    let pt = params.encode(&z, l, params.scale_at(l).unwrap()).unwrap();
    let ct = ckks::encrypt(&params, &pk, &pt, &mut rng).unwrap();
    let m = ev.mul_relin_rescale(&ct, &ct, &rlk).unwrap();
    let r = ev.rotate_hoisted(&m, &[1, 5], &gks).unwrap();
    let c = ev.conjugate(&r[1], &gks).unwrap();
    let out = ckks::decrypt(&params, &sk, &c).unwrap();
    let mut h = Sha256::new();
    for ct in [&ct, &m, &r[0], &r[1], &c] {
        for p in ct.parts() {
            for x in p.residues() {
                h.update(x.to_le_bytes());
            }
        }
    }
    for x in out.poly().residues() {
        h.update(x.to_le_bytes());
    }
    for v in params.decode(&out).unwrap() {
        h.update(v.re.to_bits().to_le_bytes());
        h.update(v.im.to_bits().to_le_bytes());
    }
    (backend, h.finalize().into())
}

#[test]
fn every_backend_gives_the_same_ciphertexts() {
    let params = Parameters::preset(Preset::InsecureN1024Depth4Scale30).unwrap();
    let q = params
        .q_moduli()
        .into_iter()
        .chain(params.p_moduli())
        .max()
        .unwrap();
    let backends = Backend::available(&Modulus::new(q).unwrap());
    assert!(backends.contains(&Backend::Scalar));
    let mut results = Vec::new();
    for b in &backends {
        std::env::set_var(BACKEND_ENV, b.name());
        let (used, digest) = run();
        assert_eq!(used, *b);
        results.push(digest);
    }
    std::env::remove_var(BACKEND_ENV);
    eprintln!("backends {backends:?}");
    for (b, d) in backends.iter().zip(&results) {
        assert_eq!(d, &results[0], "backend {b} differs from scalar");
    }
}
