//! What a directory holds, for the tests that prove a copy is gone from disk.

use std::path::{Path, PathBuf};

/// Every file under `dir`, at any depth.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a readable directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Whether the file at `path` holds `needle` anywhere (a missing file holds nothing).
pub fn file_holds(path: &Path, needle: &[u8]) -> bool {
    std::fs::read(path)
        .unwrap_or_default()
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Whether any file under `dir` holds `needle`.
pub fn any_file_holds(dir: &Path, needle: &[u8]) -> bool {
    files_under(dir).iter().any(|path| file_holds(path, needle))
}
