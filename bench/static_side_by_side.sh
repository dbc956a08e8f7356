#!/usr/bin/env bash
# Side-by-side speed of the static model against model2vec-rs (the Rust peer
# in ../shared/bench/peers-rs) on the same model directory, run alternately
# in one session, and the candle MiniLM's rate for the 1,000x ratio.
# Prints one line per run; docs/benchmarks.md quotes them.
#
# Usage: bench/static_side_by_side.sh PEERS_RS_BINARY CSV [MODEL_DIR] [RUNS]
#   PEERS_RS_BINARY: the built `peers-rs` of ../shared/bench/peers-rs
#   CSV:             rows with a `summary` column (pypi-10k, or all 703k)
#   MODEL_DIR:       a model2vec directory (default: the shipped static:minilm)
#   CANDLE=1         also embeds CSV with candle MiniLM (slow: 10k rows only)
set -euo pipefail
cd "$(dirname "$0")/.."
peer=${1:?usage: bench/static_side_by_side.sh PEERS_RS_BINARY CSV [MODEL_DIR] [RUNS]}
csv=${2:?usage: bench/static_side_by_side.sh PEERS_RS_BINARY CSV [MODEL_DIR] [RUNS]}
model=${3:-latentscope-models/models/minilm-static-256}
runs=${4:-3}
source bench/common.sh static_speed
speed=$PWD/target/release/examples/static_speed
export TIMED_STDERR=rows/s
d=$work/data
$bin --data-dir "$d" ingest p "$csv" --text-column summary > /dev/null 2>&1
echo "== $(basename "$csv"), model $model"
for i in $(seq "$runs"); do
  timed "model2vec-rs encode + whole process (run $i)" "$peer" m2v "$model" "$csv" summary "$work/peer.npy"
  timed "ours encode (static_speed, run $i)" "$speed" "$csv" summary "static:$model"
  rm -rf "$d/p/embeddings"
  timed "ours whole latentscope embed (run $i)" $bin --data-dir "$d" embed p --model "static:$model"
done
if [ "${CANDLE:-0}" = 1 ]; then
  rm -rf "$d/p/embeddings"
  timed "candle MiniLM latentscope embed" $bin --data-dir "$d" embed p --model candle:sentence-transformers/all-MiniLM-L6-v2
fi
