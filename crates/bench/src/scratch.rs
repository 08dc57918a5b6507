//! The data directory a benchmark works in.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// `given`, or a new directory under the system temp dir named after `what`; created.
pub fn bench_dir(given: Option<&Path>, what: &str) -> anyhow::Result<PathBuf> {
    let dir = match given {
        Some(dir) => dir.to_path_buf(),
        None => std::env::temp_dir().join(format!(
            "eventhose-bench-{what}-{}",
            uuid::Uuid::new_v4().simple()
        )),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}
