//! `ARCHITECTURE.md` is the codemap: it must name every crate of the workspace, by its path and
//! its package name, so that a crate cannot be added without saying where it fits.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

use std::path::Path;

#[test]
fn the_codemap_names_every_workspace_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let codemap = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut missing = Vec::new();
    let mut crates = 0;
    for entry in std::fs::read_dir(root.join("crates")).expect("crates/") {
        let dir = entry.expect("crates/ entry").path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        crates += 1;
        let name = manifest
            .lines()
            .find_map(|line| line.trim().strip_prefix("name = "))
            .map(|quoted| quoted.trim_matches('"').to_owned())
            .expect("a package name");
        let path = format!(
            "crates/{}",
            dir.file_name()
                .and_then(|n| n.to_str())
                .expect("a UTF-8 name")
        );
        for wanted in [format!("`{name}`"), format!("`{path}`")] {
            if !codemap.contains(&wanted) {
                missing.push(wanted);
            }
        }
    }
    assert!(crates >= 12, "found only {crates} crates");
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md does not name {missing:?}"
    );
}
