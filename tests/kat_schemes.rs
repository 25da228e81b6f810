//! End-to-end known-answer vectors for BFV and CKKS (`vectors/bfv/`, `vectors/ckks/`, format in
//! `vectors/README.md`): from a 32-byte ChaCha20 seed, key generation, two public-key
//! encryptions, one multiplication with relinearisation (and rescale for CKKS) and the
//! decryption, each object hashed in its wire encoding. Every vector is checked under every
//! NTT backend the CPU offers for all of the preset's primes (forced with
//! `MIGRATIONFHE_BACKEND`): the bytes must be identical everywhere. Its own test binary, and a
//! single test, because it changes the process environment.
//!
//! Regenerate with `MIGRATIONFHE_REGEN_VECTORS=1 cargo test --test kat_schemes`
//! (needed after a deliberate change of the sampling, key generation, encryption or wire
//! format; review the `git diff` of `vectors/`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

use migrationfhe::math::ntt::{Backend, BACKEND_ENV};
use migrationfhe::math::Modulus;
use migrationfhe::rlwe::{PublicKey, RelinearizationKey, RlweParams, SecretKey};
use migrationfhe::{bfv, ckks};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Environment variable that makes the test rewrite the vector files.
const REGEN_ENV: &str = "MIGRATIONFHE_REGEN_VECTORS";

/// How many decrypted values each record spells out.
const HEAD: usize = 8;

const BFV_MESSAGE_A: &str = "a[i] = (7*i + 3) mod t, i = 0 .. N-1 (batch slots)";
const BFV_MESSAGE_B: &str = "b[i] = (i*i + 1) mod t";
const CKKS_MESSAGE_A: &str = "a[j] = ((j mod 64) - 31.5) / 32, j = 0 .. N/2-1 (real slots)";
const CKKS_MESSAGE_B: &str = "b[j] = ((3*j mod 101) - 50) / 50";

/// The vectors: scheme, preset name (also the file name).
const VECTORS: [(&str, &str); 4] = [
    ("bfv", "insecure_n1024_t12289_q3"),
    ("bfv", "n8192_logq218_t20bit"),
    ("ckks", "insecure_n1024_depth4_scale30"),
    ("ckks", "n16384_depth5_scale40"),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The documented seed: SHA-256 of `migrationfhe/kat/<scheme>/<preset>`.
fn seed_of(scheme: &str, preset: &str) -> [u8; 32] {
    Sha256::digest(format!("migrationfhe/kat/{scheme}/{preset}").as_bytes()).into()
}

/// SHA-256 of polynomials' residues as little-endian u64, polynomial by polynomial, limb-major
/// (integers only: independent of the platform's floating point).
fn polys_sha<'a>(polys: impl IntoIterator<Item = &'a [u64]>) -> String {
    let mut h = Sha256::new();
    for residues in polys {
        for x in residues {
            h.update(x.to_le_bytes());
        }
    }
    hex(&h.finalize())
}

fn join<T: ToString>(v: &[T]) -> String {
    v.iter().map(T::to_string).collect::<Vec<_>>().join(" ")
}

fn bfv_params(preset: &str) -> Arc<bfv::Parameters> {
    match preset {
        "insecure_n1024_t12289_q3" => bfv::Parameters::insecure_for_testing(1024, 12289, 3),
        "n8192_logq218_t20bit" => bfv::Parameters::n8192_logq218_t20bit(),
        other => panic!("unknown BFV preset {other}"),
    }
    .unwrap()
}

fn ckks_params(preset: &str) -> Arc<ckks::Parameters> {
    let p = [
        ckks::Preset::InsecureN1024Depth4Scale30,
        ckks::Preset::N16384Depth5Scale40,
    ]
    .into_iter()
    .find(|p| p.name() == preset)
    .unwrap_or_else(|| panic!("unknown CKKS preset {preset}"));
    ckks::Parameters::preset(p).unwrap()
}

/// The ring parameters fields every record starts with.
fn ring_fields(out: &mut Vec<(String, String)>, ring: &RlweParams) {
    out.push(("n".into(), ring.degree().to_string()));
    out.push(("q".into(), join(&ring.q_moduli())));
    out.push(("p".into(), join(&ring.p_moduli())));
    out.push(("dnum".into(), ring.dnum().to_string()));
}

/// Computes a BFV record (ordered `key = value` pairs).
fn bfv_record(preset: &str, seed: [u8; 32]) -> Vec<(String, String)> {
    let params = bfv_params(preset);
    let ring = params.ring();
    let n = params.degree();
    let t = params.plaintext_modulus();
    let mut out = vec![
        ("scheme".into(), "bfv".into()),
        ("preset".into(), preset.to_string()),
    ];
    ring_fields(&mut out, ring);
    out.push(("t".into(), t.to_string()));
    out.push(("params_sha256".into(), sha(&params.to_bytes())));
    out.push(("seed".into(), hex(&seed)));
    out.push(("message_a".into(), BFV_MESSAGE_A.into()));
    out.push(("message_b".into(), BFV_MESSAGE_B.into()));
    let a: Vec<u64> = (0..n as u64).map(|i| (7 * i + 3) % t).collect();
    let b: Vec<u64> = (0..n as u64).map(|i| (i * i + 1) % t).collect();

    let mut rng = ChaCha20Rng::from_seed(seed);
    let sk = SecretKey::generate(ring, &mut rng).unwrap();
    let pk = PublicKey::generate(&sk, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let pt_a = bfv::Plaintext::encode(&params, &a).unwrap();
    let pt_b = bfv::Plaintext::encode(&params, &b).unwrap();
    let ct_a = bfv::Ciphertext::encrypt_pk(&pk, &pt_a, &mut rng).unwrap();
    let ct_b = bfv::Ciphertext::encrypt_pk(&pk, &pt_b, &mut rng).unwrap();
    let prod = bfv::Evaluator::new(&params)
        .multiply_relin(&ct_a, &ct_b, &rlk)
        .unwrap();
    let dec = prod.decrypt(&sk).unwrap().decode().unwrap();
    let want: Vec<u64> = a
        .iter()
        .zip(&b)
        .map(|(&x, &y)| ((u128::from(x) * u128::from(y)) % u128::from(t)) as u64)
        .collect();
    assert_eq!(dec, want, "{preset}: BFV product decrypts wrongly");

    out.push(("secret_key_sha256".into(), sha(&sk.to_bytes())));
    out.push(("public_key_sha256".into(), sha(&pk.to_bytes(ring).unwrap())));
    out.push(("relin_key_sha256".into(), sha(&rlk.to_bytes(ring).unwrap())));
    out.push(("ciphertext_a_sha256".into(), sha(&ct_a.to_bytes())));
    out.push(("ciphertext_b_sha256".into(), sha(&ct_b.to_bytes())));
    out.push(("operation".into(), "multiply_relin(a, b)".into()));
    out.push(("product_sha256".into(), sha(&prod.to_bytes())));
    for (name, ct) in [("a", &ct_a), ("b", &ct_b), ("product", &prod)] {
        let polys = polys_sha(ct.polys().iter().map(|p| p.residues()));
        out.push((format!("{name}_polys_sha256"), polys));
    }
    let bytes: Vec<u8> = dec.iter().flat_map(|x| x.to_le_bytes()).collect();
    out.push(("decrypted_sha256".into(), sha(&bytes)));
    out.push(("decrypted_head".into(), join(&dec[..HEAD])));
    out
}

/// Computes a CKKS record.
fn ckks_record(preset: &str, seed: [u8; 32]) -> Vec<(String, String)> {
    let params = ckks_params(preset);
    let ring = params.rlwe();
    let slots = params.slots();
    let mut out = vec![
        ("scheme".into(), "ckks".into()),
        ("preset".into(), preset.to_string()),
    ];
    ring_fields(&mut out, ring);
    out.push(("scale_bits".into(), params.scale_bits().to_string()));
    out.push(("params_sha256".into(), sha(&params.to_bytes())));
    out.push(("seed".into(), hex(&seed)));
    out.push(("message_a".into(), CKKS_MESSAGE_A.into()));
    out.push(("message_b".into(), CKKS_MESSAGE_B.into()));
    let a: Vec<f64> = (0..slots)
        .map(|j| ((j % 64) as f64 - 31.5) / 32.0)
        .collect();
    let b: Vec<f64> = (0..slots)
        .map(|j| ((3 * j % 101) as f64 - 50.0) / 50.0)
        .collect();

    let mut rng = ChaCha20Rng::from_seed(seed);
    let sk = SecretKey::generate(ring, &mut rng).unwrap();
    let pk = ckks::PublicKey::generate(&sk, &mut rng).unwrap();
    let rlk = RelinearizationKey::generate(&sk, &mut rng).unwrap();
    let pt_a = params.encode_real_top(&a).unwrap();
    let pt_b = params.encode_real_top(&b).unwrap();
    let ct_a = ckks::encrypt(&params, &pk, &pt_a, &mut rng).unwrap();
    let ct_b = ckks::encrypt(&params, &pk, &pt_b, &mut rng).unwrap();
    let prod = ckks::Evaluator::new(&params)
        .mul_relin_rescale(&ct_a, &ct_b, &rlk)
        .unwrap();
    let dec = params
        .decode(&ckks::decrypt(&params, &sk, &prod).unwrap())
        .unwrap();
    let max_error = a
        .iter()
        .zip(&b)
        .zip(&dec)
        .map(|((x, y), z)| (x * y - z.re).abs().max(z.im.abs()))
        .fold(0.0f64, f64::max);
    assert!(
        max_error <= prod.estimate().max_error(slots),
        "{preset}: error {max_error} above the public estimate"
    );

    out.push(("secret_key_sha256".into(), sha(&sk.to_bytes())));
    out.push((
        "public_key_sha256".into(),
        sha(&pk.to_bytes(&params).unwrap()),
    ));
    out.push(("relin_key_sha256".into(), sha(&rlk.to_bytes(ring).unwrap())));
    out.push((
        "ciphertext_a_sha256".into(),
        sha(&ct_a.to_bytes(&params).unwrap()),
    ));
    out.push((
        "ciphertext_b_sha256".into(),
        sha(&ct_b.to_bytes(&params).unwrap()),
    ));
    out.push(("operation".into(), "mul_relin_rescale(a, b)".into()));
    out.push((
        "product_sha256".into(),
        sha(&prod.to_bytes(&params).unwrap()),
    ));
    out.push(("product_level".into(), prod.level().to_string()));
    for (name, ct) in [("a", &ct_a), ("b", &ct_b), ("product", &prod)] {
        let polys = polys_sha(ct.parts().iter().map(|p| p.residues()));
        out.push((format!("{name}_polys_sha256"), polys));
    }
    let bytes: Vec<u8> = dec
        .iter()
        .flat_map(|z| z.re.to_le_bytes().into_iter().chain(z.im.to_le_bytes()))
        .collect();
    out.push(("decrypted_sha256".into(), sha(&bytes)));
    let head: Vec<String> = dec[..HEAD]
        .iter()
        .map(|z| format!("{:016x}", z.re.to_bits()))
        .collect();
    out.push(("decrypted_head_bits".into(), head.join(" ")));
    let approx: Vec<String> = dec[..HEAD].iter().map(|z| format!("{:.9}", z.re)).collect();
    out.push(("decrypted_head".into(), approx.join(" ")));
    out.push(("max_abs_error".into(), format!("{max_error:e}")));
    out
}

fn record(scheme: &str, preset: &str, seed: [u8; 32]) -> Vec<(String, String)> {
    match scheme {
        "bfv" => bfv_record(preset, seed),
        "ckks" => ckks_record(preset, seed),
        other => panic!("unknown scheme {other}"),
    }
}

/// Every prime of the preset, to find the backends that serve all of them.
fn primes(scheme: &str, preset: &str) -> Vec<u64> {
    let ring = match scheme {
        "bfv" => Arc::clone(bfv_params(preset).ring()),
        _ => Arc::clone(ckks_params(preset).rlwe()),
    };
    ring.q_moduli().into_iter().chain(ring.p_moduli()).collect()
}

/// `key = value` pairs of a vector file (comments and blank lines skipped).
fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("key = value");
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

fn path(scheme: &str, preset: &str) -> String {
    format!(
        "{}/vectors/{scheme}/{preset}.txt",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn write(scheme: &str, preset: &str, rec: &[(String, String)]) {
    let mut text = format!(
        "# {} known-answer vector, preset {preset}: see vectors/README.md.\n\
         # Regenerate: {REGEN_ENV}=1 cargo test --test kat_schemes\n",
        scheme.to_uppercase()
    );
    for (k, v) in rec {
        text.push_str(&format!("{k} = {v}\n"));
    }
    std::fs::create_dir_all(format!("{}/vectors/{scheme}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    std::fs::write(path(scheme, preset), text).unwrap();
}

#[test]
fn scheme_vectors_on_every_backend() {
    let regen = std::env::var(REGEN_ENV).is_ok_and(|v| v == "1");
    let mut ran = BTreeSet::new();
    for (scheme, preset) in VECTORS {
        let seed = seed_of(scheme, preset);
        if regen {
            std::env::remove_var(BACKEND_ENV);
            write(scheme, preset, &record(scheme, preset, seed));
        }
        let text = std::fs::read_to_string(path(scheme, preset))
            .unwrap_or_else(|e| panic!("{scheme}/{preset}: {e}; regenerate with {REGEN_ENV}=1"));
        let want = parse(&text);
        let file_seed = &want.iter().find(|(k, _)| k == "seed").expect("seed").1;
        assert_eq!(*file_seed, hex(&seed), "{scheme}/{preset}: documented seed");
        std::env::remove_var(BACKEND_ENV);
        let moduli: Vec<Modulus> = primes(scheme, preset)
            .into_iter()
            .map(|q| Modulus::new(q).unwrap())
            .collect();
        let backends: Vec<Backend> = Backend::ALL
            .into_iter()
            .filter(|b| moduli.iter().all(|q| Backend::available(q).contains(b)))
            .collect();
        assert!(backends.contains(&Backend::Scalar));
        for backend in backends {
            std::env::set_var(BACKEND_ENV, backend.name());
            let got = record(scheme, preset, seed);
            for (i, ((gk, gv), (wk, wv))) in got.iter().zip(&want).enumerate() {
                assert_eq!(gk, wk, "{scheme}/{preset}: field {i}");
                assert_eq!(gv, wv, "{scheme}/{preset} under {backend}: {gk}");
            }
            assert_eq!(got.len(), want.len(), "{scheme}/{preset}: field count");
            ran.insert(backend.name());
        }
    }
    std::env::remove_var(BACKEND_ENV);
    eprintln!("scheme vectors checked under: {ran:?}");
}
