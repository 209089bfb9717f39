// `sqlx::migrate!` embeds the SQL files at compile time; without this, editing or adding a
// migration would not rebuild the crate and the binary would ship the old set.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
