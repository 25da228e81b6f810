//! The `migrationfhe` command-line tool.
fn main() {
    println!("hello");
}
