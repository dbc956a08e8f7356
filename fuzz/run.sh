#!/usr/bin/env bash
# Fuzzes every target for SECONDS each (default 200) on the stable toolchain
# (RUSTC_BOOTSTRAP=1, no sanitizer), adding what it finds to corpus/<target>/,
# and prints each target's last libFuzzer status line. Needs `cargo install cargo-fuzz`.
# Crashes land in artifacts/<target>/; replay one with `cargo fuzz run <target> <file>`.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-200}"
export RUSTC_BOOTSTRAP=1
TARGETS="table_csv table_tsv table_jsonl table_parquet npy artifact_file"
cargo fuzz build -s none --release 2>&1 | tail -1
for t in $TARGETS; do
    mkdir -p "corpus/$t" logs
    cargo fuzz run -s none --release "$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_EACH" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 \
        > "logs/$t.log" 2>&1 || echo "$t: exited $? (see logs/$t.log and artifacts/$t/)"
    echo "$t: $(grep -E '^#[0-9]+' "logs/$t.log" | tail -1)"
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "logs/$t.log" | tr '\n' ' '; echo
done
