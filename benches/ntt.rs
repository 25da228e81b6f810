//! NTT benches (being written).
fn main() {}
