#!/usr/bin/env bash
# HDBSCAN side by side at several sizes (min_cluster_size 15, min_samples 5):
# our whole `latentscope cluster` process (3 runs) and in-process time
# (`examples/hdbscan_npy`), petal-clustering (the Rust peer,
# ../shared/bench/peers-rs), and `hdbscan` and fast_hdbscan through
# ../shared/bench/hdbscan_py.py, with label agreement against `hdbscan`.
#
# Usage: bench/hdbscan_sizes.sh PEERS_PYTHON PEERS_RS_BINARY LAYOUT.npy...
#   LAYOUT.npy: n × 2 points (e.g. the 10k fixture layout, umap_learn.py's
#   layout of the 50k MiniLM vectors, our UMAP of the 703k set exported as .npy)
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:?usage: bench/hdbscan_sizes.sh PEERS_PYTHON PEERS_RS_BINARY LAYOUT.npy...}
peer=${2:?usage: bench/hdbscan_sizes.sh PEERS_PYTHON PEERS_RS_BINARY LAYOUT.npy...}
shift 2
shared=${SHARED:-../shared}
source bench/common.sh hdbscan_npy
hd=$PWD/target/release/examples/hdbscan_npy
export TIMED_STDERR=cluster-
for layout in "$@"; do
  "$py" -c "import numpy as np; x=np.load('$layout'); np.save('$work/p32.npy', np.ascontiguousarray(x, dtype=np.float32)); np.save('$work/p64.npy', np.ascontiguousarray(x, dtype=np.float64)); open('$work/rows.csv','w').write('text\n'+''.join('r%d\n'%i for i in range(len(x))))"
  echo "== $(basename "$layout")"
  d=$work/data; rm -rf "$d"
  $bin --data-dir "$d" ingest p "$work/rows.csv" --text-column text > /dev/null 2>&1
  $bin --data-dir "$d" import-umap p "$work/p32.npy" > /dev/null 2>&1
  for i in 1 2 3; do
    timed "latentscope cluster (run $i)" $bin --data-dir "$d" cluster p umap-001 --min-cluster-size 15 --min-samples 5
  done
  timed "hdbscan_npy (raw points, in-process time)" $hd "$work/p32.npy" 15 5 "$work/ours.npy"
  timed "petal-clustering" "$peer" hdbscan "$work/p64.npy" 15 5 "$work/petal.npy"
  timed "hdbscan_py hdbscan" "$py" "$shared/bench/hdbscan_py.py" hdbscan "$work/p32.npy" 15 5 "$work/h.npy"
  timed "hdbscan_py fast_hdbscan" "$py" "$shared/bench/hdbscan_py.py" fast_hdbscan "$work/p32.npy" 15 5 "$work/f.npy"
  for x in ours f petal; do
    echo "$x vs hdbscan: $("$py" "$shared/bench/compare_labels.py" "$work/$x.npy" "$work/h.npy")"
  done
done
