#!/usr/bin/env bash
# Ingest benchmark on the 703,099-row PyPI set: whole-process time and peak
# memory from /usr/bin/time -v, then a pyarrow round-trip check of input.parquet.
# Usage: bench/ingest.sh <pypi-all.parquet> [python-with-pyarrow]
# (build the set with ../shared/data/make_pypi_datasets.py)
set -euo pipefail
cd "$(dirname "$0")/.."
input=${1:?usage: bench/ingest.sh <pypi-all.parquet> [python]}
python=${2:-python3}
cargo build --release --quiet
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
echo "input: $input ($(du -h "$input" | cut -f1))"
/usr/bin/time -v target/release/latentscope --data-dir "$data" ingest pypi-all "$input" --text-column summary \
  2> "$data/time.txt" >/dev/null
grep -E "Elapsed|Maximum resident" "$data/time.txt"
"$python" scripts/check_roundtrip.py "$input" "$data/pypi-all/input.parquet"
