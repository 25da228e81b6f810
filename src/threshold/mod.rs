//! Multi-party (threshold) homomorphic encryption for BFV and CKKS: collective key generation,
//! smudged collective decryption, re-encryption to a receiver's public key, and
//! `t`-out-of-`n` thresholdisation, after
//!
//! - Mouchet, Troncoso-Pastoriza, Bossuat, Hubaux, "Multiparty Homomorphic Encryption from
//!   Ring-Learning-with-Errors", PETS 2021 (eprint 2020/304): the `N`-out-of-`N` protocols;
//! - Mouchet, Bertrand, Hubaux, "An Efficient Threshold Access-Structure for RLWE-Based
//!   Multiparty Homomorphic Encryption", eprint 2022/780 (J. Cryptology 2023): the
//!   `t`-out-of-`n` extension (Shamir re-sharing without a dealer, Lagrange scaling of the
//!   share by each active party);
//! - Asharov, Jain, López-Alt, Tromer, Vaikuntanathan, Wichs, "Multiparty Computation with Low
//!   Communication, Computation and Interaction via Threshold FHE", EUROCRYPT 2012: noise
//!   flooding (smudging) of decryption shares;
//!
//! as Lattigo's `multiparty` package organises them (one small type per protocol, local steps
//! only; the network is the caller's). Nothing here is copied from Lattigo.
//!
//! # Model
//! A **committee** ([`Committee`]) of `n` parties with distinct non-zero ids and a threshold
//! `t`. Each party holds a [`PartySecret`]: at first an additive share `s_i` (ternary) of the
//! *ideal* secret `s = Σ s_i`, which nobody ever forms; after [`shamir`] re-sharing, a Shamir
//! share `S(α_i)` of the same `s` (threshold `t`). For every protocol run the parties declare
//! an [`ActiveSet`] (all `n` for additive shares, any `>= t` for Shamir shares) and each derives
//! its [`ActiveShare`]: `s_i`, or `l_i·S(α_i)` with the Lagrange coefficient `l_i` of the set,
//! so that the active shares always sum to `s` and every protocol is the same sum of
//! per-party terms.
//!
//! The protocols produce the **same key types** the single-key evaluators use
//! ([`rlwe::PublicKey`](crate::rlwe::PublicKey),
//! [`RelinearizationKey`](crate::rlwe::RelinearizationKey),
//! [`GaloisKey`](crate::rlwe::GaloisKey)), with the seeded layout of `rlwe::keys`: every
//! uniform `a` is the common reference polynomial of its protocol instance, expanded from the
//! instance id exactly as a single-key key's `a` is expanded from its seed. So every BFV/CKKS
//! operation, and the wire format's seeded compression, work unchanged on collective keys.
//!
//! | protocol | rounds | per-party message | module |
//! |---|---|---|---|
//! | collective public key | 1 | `b_i = -a s_i + e_i` over `Q` | [`keygen`] |
//! | relinearisation key | 2 | round 1: `h0_ij` per digit and one `h1_i`, over `QP` (`dnum + 1` polynomials); round 2: one polynomial per digit over `QP` | [`keygen`] |
//! | Galois key (one per element) | 1 | one polynomial per digit over `QP` | [`keygen`] |
//! | decryption | 1 | `s_i c_1 + e_smudge` at the lowest useful level | [`decrypt`] |
//! | public-key switch | 1 | `(s_i c_1 + u_i p_0 + e_smudge, u_i p_1 + e_1)` | [`decrypt`] |
//! | Shamir re-sharing | 1 | `S_i(α_j)`, sealed to party `j` | [`shamir`] |
//!
//! ## Relinearisation key
//! PETS 2021 §5's two-round protocol (Lattigo's `RelinearizationKeyGenProtocol`), adapted to
//! the hybrid key of this crate (special primes `P`, `dnum` digits, gadget `w_j = P·T_j`) and
//! arranged so that the final key's `a_j` is the common reference polynomial (so the key is
//! seeded like a single-key one) and round 2 sends one polynomial per digit instead of two:
//! round 1 sends `dnum + 1` polynomials instead of `2·dnum`. Round 1, with a fresh ephemeral
//! ternary `u_ij` per digit and one more common polynomial `c` of the instance (expanded from
//! its id, domain `trc`): `h0_ij = -u_ij c + s_i w_j + e0_ij` per digit and once
//! `h1_i = s_i c + e1_i`; the aggregator sums them and subtracts the key's `a_j` once:
//! `d_j = Σ h0_ij - a_j`, `h1 = Σ h1_i`. Round 2: `h2_ij = s_i d_j + u_ij h1 + e2_ij`. Then
//! `b_j = Σ h2_ij = -a_j s + s² w_j + (s e0_j + u_j e1 + e2_j)` (`u_j = Σ u_ij`), a key
//! switching key from `s²` to `s` with the noise of PETS 2021's key. Security as there: each
//! `h0_ij` is an RLWE sample under a secret `u_ij` used for no other digit (the one `c` is
//! shared by independent secrets, as a public key's `a` is; it must not be shared by one
//! secret, which is why the digits do not share `u`), `h1_i` an RLWE sample of `s_i` on a
//! polynomial used by no other protocol, and round 2 two RLWE samples in `(s_i, u_ij)` summed.
//! Shares of one instance are sums over the parties ([`KeyAggregator`] adds them one at a time,
//! in memory independent of the number of parties).

//! ## Randomness
//! Share errors are centered binomial (`η = 21`, SEAL's error distribution, standard deviation
//! 3.24 against the standard's Gaussian 3.2); all per-share randomness is a ChaCha20 stream keyed
//! by 32 bytes of the caller's generator, and the common reference polynomials ([`Crp`]) are
//! expanded through the same stream, bit-identically to `math::sampling::expand_seed`.
//!
//! ## Messages
//! Every message and a party's state serialise through [`wire`](crate::wire) ([`encoding`]):
//! each party can be a separate process exchanging files.
//!
//! # Security (see also `docs/THRESHOLD.md` and the "Multi-party" section of SECURITY.md)
//! - **Honest-but-curious** parties: every party follows the protocol; up to `n - 1` (additive)
//!   or `t - 1` (Shamir) may collude and pool what they see. No proofs of correct behaviour are
//!   made; a malicious party can make the output wrong (not learn the secret of others, as long
//!   as the honest parties' shares are never repeated).
//! - **No repeated shares.** A party never produces two shares for the same input: two
//!   decryption (or re-encryption) shares for the same `c_1`, or two key-generation shares for
//!   the same common reference polynomial, even with fresh randomness or for another set of
//!   parties, because averaging or subtracting two such shares removes the smudging or the key
//!   noise (the attacks of eprints 2024/194 and 2025/409). Every share-producing function takes
//!   a [`ShareLog`] and records the input (fsync'd, for [`FileShareLog`]) *before* computing the
//!   share; a repeat is [`ThresholdError::RepeatedShare`](crate::error::ThresholdError).
//!   A party keeps **one** log for all its secrets and committees.
//! - **Smudging.** Each decryption share carries uniform noise of `b = λ + log2 N + log2 B`
//!   bits, `B` the public high-probability bound (failure `2^-λ`) on the ciphertext's noise
//!   from the scheme's estimator, multiplied by the number of parties `n` for a collective key
//!   (see [`decrypt`]); one honest party's noise alone floods the ciphertext noise to statistical
//!   distance `2^-λ` over the whole polynomial. `λ = 40` by default; less only through
//!   [`DecryptionPolicy::insecure_for_testing`]. Decryption is refused when noise plus smudging
//!   could overflow the modulus with probability above `2^-λ`.
//! - **What the output reveals**: the plaintext, plus (CKKS) an error dominated by the
//!   smudging; nothing else about the shares under the RLWE assumption and the smudging lemma.
//!   A party must release its decryption share only for an output it has checked it may
//!   release (the circuit that produced the ciphertext, the set of receivers).
//! - Secrets ([`PartySecret`], [`ActiveShare`], [`RelinEphemeral`], the dealt Shamir values)
//!   zeroize on drop and print redacted `Debug`; errors never contain share data.

mod common;
pub mod decrypt;
pub mod encoding;
pub mod keygen;
mod log;
mod secret;
pub mod shamir;

pub use common::{ActiveSet, Committee, Crp, Crs, Instance, PartyId, ProtocolKind, ShareHeader};
pub use decrypt::{
    BfvDecryption, CkksDecryption, DecryptionInput, DecryptionPolicy, DecryptionShare,
    PkSwitchShare,
};
pub use keygen::{
    GaloisKeyShare, KeyAggregator, KeyGenShare, PublicKeyShare, RelinEphemeral,
    RelinRound1Aggregate, RelinRound1Share, RelinRound2Share,
};
pub use log::{FileShareLog, InMemoryShareLogForTesting, LogClass, ShareLog};
pub use secret::{ideal_secret_key_for_reference_test, ActiveShare, PartySecret};
pub use shamir::{deal, DealtShare, SealedShare, TransportKey};
