//! Avx512 NTT kernels (being written; until then this backend is never detected).

use super::Tables;

/// Zero-sized proof that the CPU has the instructions of this backend.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512(());

impl Avx512 {
    /// Never detected until the kernels land.
    pub(crate) fn detect() -> Option<Self> {
        None
    }
}

/// Backend-specific precomputation.
#[derive(Clone, Debug)]
pub(crate) struct Avx512Tables {
    _token: Avx512,
}

impl Avx512Tables {
    pub(crate) fn new(token: Avx512, _t: &Tables) -> Self {
        Self { _token: token }
    }
    pub(crate) fn forward(&self, t: &Tables, a: &mut [u64]) {
        super::scalar::forward(t, a)
    }
    pub(crate) fn inverse(&self, t: &Tables, a: &mut [u64]) {
        super::scalar::inverse(t, a)
    }
}
