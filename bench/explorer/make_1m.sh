#!/usr/bin/env bash
# make_1m.sh — make the 1,000,000-row PyPI scope the explorer is measured on
# (issue #31's acceptance: "1M points in software WebGL2").
#
#   bench/explorer/make_1m.sh [DATA_DIR] [SOURCE_PARQUET] [WORK_DIR]
#
#   DATA_DIR        the latentscope data directory to write the dataset `pypi-1m` into
#                   [default: /tmp/big/data]
#   SOURCE_PARQUET  the 703,099-row PyPI table (name, summary, month)
#                   [default: /tmp/big/pypi-all.parquet]
#   WORK_DIR        scratch files (the 1M table, the layout) [default: /tmp/big/pypi-1m-work]
#
# Env: LATENTSCOPE (the binary) [default: /tmp/ls-bin/latentscope, else `latentscope` on PATH];
#      SOURCE_DATASET (a dataset in DATA_DIR made from SOURCE_PARQUET, whose umap-001 gives the
#      layout) [default: pypi-all]; FORCE=1 rebuilds pypi-1m even if its scope exists.
#
# What it makes (all through the CLI, timed step by step, times also written to
# WORK_DIR/times.tsv):
#   rows      the 703,099 rows as they are, then 296,901 of them drawn again with
#             numpy's default_rng(31) (without replacement), same columns → 1,000,000 rows;
#   ingest    `latentscope ingest pypi-1m` (text column `summary`);
#   embed     `latentscope embed` with the static model (static:minilm, 256 dims; the real
#             embedding of all 1M rows — a couple of seconds);
#   layout    `latentscope import-umap`: SOURCE_DATASET's umap-001 coordinates for every row
#             (the resampled rows get their original row's point plus Gaussian jitter,
#             σ = 0.003 of the [-1, 1] range, seed 31), so the 1M map is the 703k map, denser;
#             (a UMAP of 1M rows would take ~3 min on 2 cores and is not what is measured here);
#   cluster   `latentscope cluster` (HDBSCAN, default parameters for 1M rows);
#   label     `latentscope label` (keywords, class-based TF-IDF);
#   scope     `latentscope scope … --label pypi-1m` → pypi-1m/scopes-001.
#
# Idempotent: if pypi-1m already has a scope it says so and stops (FORCE=1 to remake it);
# a half-made pypi-1m (an earlier run stopped part-way) is deleted and made again.
set -euo pipefail

data=${1:-/tmp/big/data}
src=${2:-/tmp/big/pypi-all.parquet}
work=${3:-/tmp/big/pypi-1m-work}
srcds=${SOURCE_DATASET:-pypi-all}
ds=pypi-1m
if [ -n "${LATENTSCOPE:-}" ]; then bin=$LATENTSCOPE
elif [ -x /tmp/ls-bin/latentscope ]; then bin=/tmp/ls-bin/latentscope
else bin=$(command -v latentscope); fi
lsc() { "$bin" --data-dir "$data" "$@"; }

[ -f "$src" ] || { echo "no source table $src" >&2; exit 1; }
[ -f "$data/$srcds/umaps/umap-001.parquet" ] || { echo "no layout $data/$srcds/umaps/umap-001.parquet (make $srcds first: latentscope run $src --text-column summary)" >&2; exit 1; }

if [ -f "$data/$ds/scopes/scopes-001.json" ] && [ "${FORCE:-0}" != 1 ]; then
  echo "$data/$ds already has scopes-001; nothing to do (FORCE=1 to remake it)"
  exit 0
fi
if [ -d "$data/$ds" ]; then
  echo "deleting the earlier $ds"
  lsc delete "$ds" --with-dependents
fi
mkdir -p "$work"
: > "$work/times.tsv"

step() {  # step NAME COMMAND...: runs it, prints and records its wall seconds
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  local s; s=$(python3 -c "print(f'{$t1-$t0:.2f}')")
  printf '%s\t%s\n' "$name" "$s" >> "$work/times.tsv"
  echo "== $name: ${s} s"
}

make_table() {
  python3 - "$src" "$data/$srcds/umaps/umap-001.parquet" "$work" <<'EOF'
import sys
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

src, umap, work = sys.argv[1:]
t = pq.read_table(src)
n0 = t.num_rows
extra = 1_000_000 - n0
rng = np.random.default_rng(31)
pick = np.sort(rng.choice(n0, size=extra, replace=False))
rows = np.concatenate([np.arange(n0), pick])
big = t.take(pa.array(rows)).replace_schema_metadata(None)
pq.write_table(big, f"{work}/pypi-1m.parquet", row_group_size=100_000)

xy = pq.read_table(umap).to_pandas()[["x", "y"]].to_numpy(np.float32)
assert len(xy) == n0, (len(xy), n0)
out = xy[rows].copy()
out[n0:] += rng.normal(0.0, 0.003, size=(extra, 2)).astype(np.float32)
np.clip(out, -1.0, 1.0, out=out)
np.save(f"{work}/layout.npy", out)
np.save(f"{work}/source_rows.npy", rows)
print(f"{len(rows)} rows ({n0} + {extra} resampled), layout {out.shape}")
EOF
}

last_id() {  # last_id DIR PREFIX: the newest artifact id in DIR
  ls "$data/$ds/$1" | grep -E "^$2-[0-9]{3}\.json$" | sort | tail -n 1 | sed 's/\.json$//'
}

step table make_table
step ingest lsc ingest "$ds" "$work/pypi-1m.parquet" --text-column summary
step embed lsc embed "$ds" --model static:minilm
emb=$(last_id embeddings embedding)
step import-umap lsc import-umap "$ds" "$work/layout.npy"
umap=$(last_id umaps umap)
step cluster lsc cluster "$ds" "$umap"
cl=$(last_id clusters cluster)
step label lsc label "$ds" "$cl"
lab=$(ls "$data/$ds/clusters" | grep -E "^$cl-labels-[0-9]{3}\.json$" | sort | tail -n 1 | sed 's/\.json$//')
step scope lsc scope "$ds" "$emb" "$umap" "$cl" "$lab" --label "pypi-1m" \
  --description "703,099 PyPI summaries + 296,901 resampled (bench/explorer/make_1m.sh)"
echo
lsc show "$ds"
echo
echo "step times (s):"
cat "$work/times.tsv"
