#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod analytics;
pub mod bfv;
pub mod ckks;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod math;
pub mod params;
pub mod rlwe;
pub mod threshold;
pub mod wire;

pub use error::{Error, Result};
