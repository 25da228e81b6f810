//! RNS benches (being written).
fn main() {}
