//! Embeds every migration under the repository's `migrations/` directory into the library.
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let dir = manifest.join("../../migrations");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut ids: Vec<String> = std::fs::read_dir(&dir)
        .expect("migrations directory")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    let mut out = String::from("/// Migrations embedded at build time, in order.\npub static EMBEDDED: &[(&str, &str, &str)] = &[\n");
    for id in ids {
        let d = dir.join(&id);
        println!("cargo:rerun-if-changed={}", d.display());
        for f in ["up.sql", "down.sql"] {
            println!("cargo:rerun-if-changed={}", d.join(f).display());
        }
        let up = d.join("up.sql").canonicalize().expect("up.sql");
        let down = d.join("down.sql").canonicalize().expect("down.sql");
        writeln!(
            out,
            "    ({id:?}, include_str!({:?}), include_str!({:?})),",
            up.display().to_string(),
            down.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(dest, out).unwrap();
}
