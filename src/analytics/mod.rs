//! Encrypted migration analytics on the public BFV and CKKS APIs (DESIGN.md §7).
//!
//! ## Trust model
//! Each agency holds its own records and (in deployments) a share of the collective secret.
//! It encrypts what it knows under the collective public key ([`Encryptor`]), signs the
//! submission ([`Submission::sign`], Ed25519) and sends it to a computation node that holds
//! only evaluation keys ([`SlotBackend`]). The node evaluates a declared analysis, records every
//! submission, operation and output in a hash-chained [`Transcript`], and produces
//! [`DeclaredOutput`]s whose ciphertexts are masked to the declared slots. Only those are
//! decrypted ([`open_output`] checks [`Transcript::authorises`] first; the threshold decryptor
//! makes the same check before releasing a share), so the node is not a decryption oracle.
//! Anyone with the submissions can re-execute the evaluation and compare transcripts bit for
//! bit (evaluation is deterministic).
//!
//! Masking is exact in BFV; in CKKS the undeclared slots of an output hold approximation
//! noise of the order of the scheme's error (not exact zeros), which the smudging noise of
//! collective decryption covers.
//!
//! The schemes have no bootstrapping: each analysis states its depth and, where an algorithm
//! needs more, the intermediate aggregates it decrypts (listed in each module's docs).
//!
//! Modules: [`backend`] (slot operations; BFV, CKKS and plaintext stand-ins), [`linear`]
//! (segment sums, matrix layout, group and column sums), [`correlation`] (Pearson's r by a
//! blinded depth-4 protocol), [`data`] (loading and validating the
//! bundled CSV files), [`flows`] (the BFV flow matrix: contributions, count bound, hierarchy,
//! in/out/net, year-over-year, return flows, disaggregation), [`graph`] (CKKS PageRank),
//! [`stats`] (CKKS statistics, regression, forecasting, clustering), [`transcript`].
//!
//! Data: Abel and Sander (2014), "Quantifying Global International Migration Flows", Science
//! 343(6178):1520–1522; World Bank WDI (CC BY 4.0); UNHCR Refugee Population Statistics
//! (CC BY 4.0); US Census ACS state-to-state flows (public domain). See `data/README.md`.

pub mod backend;
pub mod correlation;
pub mod data;
pub mod flows;
pub mod graph;
pub mod linear;
pub mod stats;
pub mod transcript;

pub use backend::{
    BfvBackend, BfvEncryptor, BfvSecretKeyDecryptor, CkksBackend, CkksEncryptor,
    CkksSecretKeyDecryptor, Decryptor, Encryptor, OpCounter, OpCounts, PlainCt, PlainInt,
    PlainReal, SlotBackend, SlotValue,
};
pub use flows::{Evaluation, FlowMatrix};
pub use linear::{MatrixLayout, Segment, SlotRef};
pub use transcript::{open_output, DeclaredOutput, Entry, Submission, Transcript};
