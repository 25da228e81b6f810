//! `MIGRATIONFHE_BACKEND` forces a backend; an unknown or unusable one is an error, never a
//! silent fallback. Its own test binary, because it changes the process environment.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use migrationfhe::math::ntt::{Backend, NttPlan, BACKEND_ENV};
use migrationfhe::math::primes::largest_ntt_prime;
use migrationfhe::math::Modulus;
use migrationfhe::Error;

#[test]
fn environment_forces_the_backend() {
    let q50 = largest_ntt_prime(50, 1 << 17).unwrap();
    let q60 = largest_ntt_prime(60, 1 << 17).unwrap();
    for q in [q50, q60] {
        let m = Modulus::new(q).unwrap();
        for b in Backend::ALL {
            std::env::set_var(BACKEND_ENV, b.name());
            match NttPlan::new(1024, q) {
                Ok(plan) => {
                    assert_eq!(plan.backend(), b);
                    assert!(b.check(&m).is_ok());
                }
                Err(e) => {
                    assert!(matches!(e, Error::BackendUnavailable { .. }), "{e}");
                    assert!(
                        b.check(&m).is_err(),
                        "{b} should have been usable for q={q}"
                    );
                }
            }
        }
    }
    std::env::set_var(BACKEND_ENV, "neon");
    assert!(matches!(
        NttPlan::new(1024, q50),
        Err(Error::BackendUnavailable { .. })
    ));
    std::env::set_var(BACKEND_ENV, "ifma");
    assert!(matches!(
        NttPlan::new(1024, q60),
        Err(Error::BackendUnavailable { .. })
    ));
    std::env::remove_var(BACKEND_ENV);
    let plan = NttPlan::new(1024, q50).unwrap();
    assert_eq!(
        Some(plan.backend()),
        Backend::available(&Modulus::new(q50).unwrap())
            .last()
            .copied()
    );
}
