//! Per-thread recycling of large buffers that hold **public** data (ciphertexts, public and
//! key-switching keys, their intermediate values).
//!
//! A polynomial at `N = 2^14` with eight primes is 1 MiB. The system allocator returns such
//! blocks to the kernel on free (above its `mmap`/trim thresholds), and the next allocation
//! faults every page back in, zeroed: on the virtual machines these benchmarks run on that
//! costs about as much as the arithmetic of an encryption, and half of a key generation.
//! Memory pools are the usual remedy (SEAL's `MemoryPoolHandle`); this one is minimal: a
//! per-thread stack of buffers, bounded in count ([`POOL_LIMIT`]) and in words
//! ([`POOL_WORDS`], 64 MiB), with best-fit reuse.
//!
//! Only public data may be returned ([`give`]): containers of ciphertexts and public keys do
//! so on drop; secret-bearing buffers are wiped and freed as before, never pooled. A buffer
//! taken with [`take_dirty`] may hold an earlier public value and must be overwritten
//! entirely before it is read.

use core::cell::RefCell;

/// Buffers kept per thread at most.
pub(crate) const POOL_LIMIT: usize = 64;
/// Words kept per thread at most (64 MiB).
pub(crate) const POOL_WORDS: usize = 1 << 23;
/// Smaller buffers are not worth keeping (the allocator serves them from its heap).
const MIN_WORDS: usize = 1 << 12;

thread_local! {
    static POOL: RefCell<Vec<Vec<u64>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of `len` words with unspecified contents (recycled public data or zeros): the
/// caller overwrites every value.
pub(crate) fn take_dirty(len: usize) -> Vec<u64> {
    take_recycled(len).unwrap_or_else(|| vec![0; len])
}

/// A recycled buffer of `len` words (unspecified contents), if the pool has one that fits.
pub(crate) fn take_recycled(len: usize) -> Option<Vec<u64>> {
    let found = if len >= MIN_WORDS {
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            // Best fit: the smallest buffer that holds `len` words.
            let best = p
                .iter()
                .enumerate()
                .filter(|(_, v)| v.capacity() >= len)
                .min_by_key(|(_, v)| v.capacity())
                .map(|(i, _)| i);
            best.map(|i| p.swap_remove(i))
        })
    } else {
        None
    };
    found.map(|mut v| {
        if v.len() >= len {
            v.truncate(len);
        } else {
            v.resize(len, 0);
        }
        v
    })
}

/// A zeroed buffer of `len` words, recycled when possible (a fresh one comes zeroed from the
/// allocator and is not cleared again).
pub(crate) fn take(len: usize) -> Vec<u64> {
    match take_recycled(len) {
        Some(mut v) => {
            v.fill(0);
            v
        }
        None => vec![0; len],
    }
}

/// Returns a buffer that holds only public data to the pool (dropped when the pool is full).
pub(crate) fn give(v: Vec<u64>) {
    if v.capacity() < MIN_WORDS {
        return;
    }
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let words: usize = p.iter().map(Vec::capacity).sum();
        if p.len() < POOL_LIMIT && words + v.capacity() <= POOL_WORDS {
            p.push(v);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycles_best_fit_and_zeroes_on_take() {
        give(vec![7u64; 1 << 13]);
        give(vec![5u64; 1 << 14]);
        let v = take(1 << 12);
        assert_eq!(v.len(), 1 << 12);
        assert!(v.iter().all(|&x| x == 0));
        assert_eq!(v.capacity(), 1 << 13, "smallest buffer that fits");
        let w = take_dirty(1 << 14);
        assert_eq!(w.len(), 1 << 14);
        assert_eq!(w.capacity(), 1 << 14);
        // Nothing left that fits: a fresh zeroed buffer.
        let z = take_dirty(1 << 15);
        assert!(z.iter().all(|&x| x == 0));
        // Small buffers are not kept.
        give(vec![1u64; 16]);
        assert_eq!(take(16), vec![0u64; 16]);
    }
}
