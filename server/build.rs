//! The release binary embeds `target/site` (see `src/site.rs`): rebuild when it changes, and
//! give `rust-embed` an empty folder to read where nothing has been built yet.

fn main() {
    let site = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/site");
    if let Err(error) = std::fs::create_dir_all(&site) {
        println!("cargo::warning=cannot create {}: {error}", site.display());
    }
    println!("cargo::rerun-if-changed={}", site.display());
}
