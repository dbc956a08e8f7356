#!/usr/bin/env bash
# Side-by-side timings of our umap and cluster steps against the Python peers
# (../shared/bench), in one session on one machine. Prints one line per run;
# docs/benchmarks.md quotes them.
#
# Usage: bench/side_by_side.sh PEERS_PYTHON [SHARED_DIR] [CSV EMBEDDINGS.npy]
#   PEERS_PYTHON: a python with umap-learn, hdbscan, fast_hdbscan, scikit-learn, pandas
#   SHARED_DIR:   the shared folder with bench/ and fixtures/ (default ../shared)
#   CSV, EMBEDDINGS.npy: the rows (text column `summary`) and their vectors
#                 (default: data/pypi-10k.csv and the 10k MiniLM fixture)
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:?usage: bench/side_by_side.sh PEERS_PYTHON [SHARED_DIR] [CSV EMBEDDINGS.npy]}
shared=${2:-../shared}
csv=${3:-data/pypi-10k.csv}
emb=${4:-$shared/fixtures/pypi-10k/minilm-embeddings.npy}
source bench/common.sh hdbscan_npy
hd=$PWD/target/release/examples/hdbscan_npy

d=$work/data
$bin --data-dir "$d" ingest p "$csv" --text-column summary > /dev/null 2>&1
$bin --data-dir "$d" import-embedding p "$emb" > /dev/null 2>&1
rows=$("$py" -c "import numpy as np; print(np.load('$emb', mmap_mode='r').shape[0])")

echo "== UMAP, $rows rows of $(basename "$emb"), n_neighbors 25, min_dist 0.1, cosine, seed 42"
timed "latentscope umap (2 threads)" $bin --data-dir "$d" umap p embedding-001 --seed 42
"$py" -c "import pandas as pd, numpy as np; t=pd.read_parquet('$d/p/umaps/umap-001.parquet'); np.save('$work/ours.npy', t[['x','y']].to_numpy(np.float32))"
echo "quality ours: $("$py" "$shared/bench/layout_quality.py" "$emb" "$work/ours.npy")"
timed "umap-learn cold process" "$py" "$shared/bench/umap_learn.py" "$emb" 42 "$work/ul.npy"
WARM=1 timed "umap-learn warm fit" "$py" "$shared/bench/umap_learn.py" "$emb" 42 "$work/ul.npy"
echo "quality umap-learn: $("$py" "$shared/bench/layout_quality.py" "$emb" "$work/ul.npy")"

echo "== HDBSCAN on umap-learn's layout of those rows, min_cluster_size 15, min_samples 5"
$bin --data-dir "$d" import-umap p "$work/ul.npy" > /dev/null 2>&1   # umap-002
for i in 1 2 3; do
  timed "latentscope cluster (run $i)" $bin --data-dir "$d" cluster p umap-002 --min-cluster-size 15 --min-samples 5
done
timed "hdbscan_npy (raw points, in-process time)" $hd "$work/ul.npy" 15 5 "$work/ours-labels.npy"
timed "hdbscan_py hdbscan" "$py" "$shared/bench/hdbscan_py.py" hdbscan "$work/ul.npy" 15 5 "$work/h.npy"
timed "hdbscan_py fast_hdbscan" "$py" "$shared/bench/hdbscan_py.py" fast_hdbscan "$work/ul.npy" 15 5 "$work/f.npy"
timed "hdbscan_py hdbscan-prims (exact)" "$py" "$shared/bench/hdbscan_py.py" hdbscan-prims "$work/ul.npy" 15 5 "$work/p.npy"
echo "ours vs hdbscan: $("$py" "$shared/bench/compare_labels.py" "$work/ours-labels.npy" "$work/h.npy")"
echo "ours vs hdbscan-prims: $("$py" "$shared/bench/compare_labels.py" "$work/ours-labels.npy" "$work/p.npy")"
echo "fast_hdbscan vs hdbscan: $("$py" "$shared/bench/compare_labels.py" "$work/f.npy" "$work/h.npy")"
echo "fast_hdbscan vs hdbscan-prims: $("$py" "$shared/bench/compare_labels.py" "$work/f.npy" "$work/p.npy")"
