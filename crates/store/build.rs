//! Rebuilds the crate when a migration is added: `sqlx::migrate!` embeds the files it saw at
//! compile time and does not watch the directories by itself.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
