#!/usr/bin/env bash
# Side-by-side timings of our umap and cluster steps against the Python peers
# (../shared/bench), in one session on one machine. Prints one line per run;
# docs/benchmarks.md quotes them.
#
# Usage: bench/side_by_side.sh PEERS_PYTHON [SHARED_DIR]
#   PEERS_PYTHON: a python with umap-learn, hdbscan, fast_hdbscan, scikit-learn
#   SHARED_DIR:   the shared folder with bench/ and fixtures/ (default ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:?usage: bench/side_by_side.sh PEERS_PYTHON [SHARED_DIR]}
shared=${2:-../shared}
cargo build --release --quiet
bin=$PWD/target/release/latentscope
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fx=$shared/fixtures/pypi-10k
timed() { # label, command...: whole-process wall seconds and peak RSS
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/t" "$@" > "$work/out" 2> "$work/err" || { cat "$work/err"; exit 1; }
  read -r wall rss < "$work/t"
  echo "$label: wall ${wall}s, peak ${rss} KB; $(tail -n 1 "$work/out")"
}

d=$work/data
$bin --data-dir "$d" ingest p data/pypi-10k.csv --text-column summary > /dev/null 2>&1
$bin --data-dir "$d" import-embedding p "$fx/minilm-embeddings.npy" > /dev/null 2>&1
$bin --data-dir "$d" import-umap p "$fx/umap-learn-layout-seed42.npy" > /dev/null 2>&1   # umap-001

echo "== UMAP, 10k x 384 MiniLM, n_neighbors 25, min_dist 0.1, cosine, seed 42"
timed "latentscope umap (2 threads)" $bin --data-dir "$d" umap p embedding-001 --seed 42
"$py" -c "import pandas as pd, numpy as np; t=pd.read_parquet('$d/p/umaps/umap-002.parquet'); np.save('$work/ours.npy', t[['x','y']].to_numpy(np.float32))"
echo "quality ours: $("$py" "$shared/bench/layout_quality.py" "$fx/minilm-embeddings.npy" "$work/ours.npy")"
timed "umap-learn cold process" "$py" "$shared/bench/umap_learn.py" "$fx/minilm-embeddings.npy" 42 "$work/ul.npy"
WARM=1 timed "umap-learn warm fit" "$py" "$shared/bench/umap_learn.py" "$fx/minilm-embeddings.npy" 42 "$work/ul.npy"
echo "quality umap-learn: $("$py" "$shared/bench/layout_quality.py" "$fx/minilm-embeddings.npy" "$work/ul.npy")"

echo "== HDBSCAN, 10k 2-D (umap-learn fixture layout), min_cluster_size 15, min_samples 5"
for i in 1 2 3; do
  timed "latentscope cluster (run $i)" $bin --data-dir "$d" cluster p umap-001 --min-cluster-size 15 --min-samples 5
done
timed "hdbscan_py hdbscan" "$py" "$shared/bench/hdbscan_py.py" hdbscan "$fx/umap-learn-layout-seed42.npy" 15 5 "$work/h.npy"
timed "hdbscan_py fast_hdbscan" "$py" "$shared/bench/hdbscan_py.py" fast_hdbscan "$fx/umap-learn-layout-seed42.npy" 15 5 "$work/f.npy"
