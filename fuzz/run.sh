#!/usr/bin/env bash
# Runs every fuzz target for a bounded time: fuzz/run.sh [seconds-per-target] [target...]
#
# Installs cargo-fuzz when missing. Works on stable Rust: RUSTC_BOOTSTRAP=1 lets cargo-fuzz
# pass the nightly-only flags it needs. Builds into its own target directory (the flags
# differ from the workspace's). New inputs go to fuzz/work/<target> (not committed); the
# committed seeds in fuzz/corpus/<target> are only read. A failing input is saved under
# fuzz/artifacts/<target>/; the other targets still run, and the script then fails.
set -euo pipefail

seconds="${1:-60}"
shift || true
cd "$(dirname "$0")/.."

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-/var/tmp/eventhose-fuzz-target}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

# No sanitizer: the code under test is safe Rust (ASan would slow it and find nothing the
# bounds checks do not); debug assertions catch arithmetic overflow.
cargo fuzz build -s none -a

failed=()
for target in "${targets[@]}"; do
    echo "== $target: ${seconds}s"
    mkdir -p "fuzz/work/$target"
    cargo fuzz run -s none -a "$target" "fuzz/work/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 ||
        failed+=("$target")
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
