#!/usr/bin/env bash
# compare.sh — the explorer against regl-scatterplot on the same points, in the same
# headless Chromium (SwiftShader WebGL2, 1400×900), side by side.
#
#   bench/explorer/compare.sh <explore URL> [RUNS] [DATA_DIR] [WORK_DIR]
#   e.g. bench/explorer/compare.sh http://127.0.0.1:5071/datasets/pypi-1m/explore/scopes-001 3
#
#   explore URL  a running `latentscope serve DATA_DIR` (e.g. --read-only) page
#                /datasets/{dataset}/explore/{scope}
#   RUNS         page loads per side [default: 3]
#   DATA_DIR     the data directory that server serves [default: /tmp/big/data]; the scope's
#                x, y, cluster are read from its Parquet for regl-scatterplot
#   WORK_DIR     scratch: regl-scatterplot 1.16.0 + esbuild installed once with npm, the bundle,
#                points.bin, the JSON results [default: /tmp/explorer-bench]
#
# Ours:  latentscope-server/web/tests/bench.mjs (first paint = __ls.firstPaintMs, wall time from
#        page.goto, pan fps during a 2.5 s scripted drag right after first paint and again once
#        loaded, time from mouse-up until __ls.drawn equals the points in view).
# Peer:  bench/explorer/regl/ (from ../shared/bench/explorer/, regl-scatterplot draws every point
#        every frame): the same figures measured the same way (regl/run.mjs).
# Prints the load average before and after, both JSON files' paths and a table.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
url=${1:?usage: compare.sh <explore URL> [RUNS] [DATA_DIR] [WORK_DIR]}
runs=${2:-3}
data=${3:-/tmp/big/data}
work=${4:-/tmp/explorer-bench}
path=${url#*://*/}
path=${path%%\?*}
ds=$(echo "$path" | sed -E 's#^datasets/([^/]+)/explore/([^/]+).*#\1#')
scope=$(echo "$path" | sed -E 's#^datasets/([^/]+)/explore/([^/]+).*#\2#')
[ "$ds" != "$path" ] || { echo "not an explore URL: $url" >&2; exit 2; }

mkdir -p "$work/regl-npm"
if [ ! -d "$work/regl-npm/node_modules/regl-scatterplot" ]; then
  (cd "$work/regl-npm" && { [ -f package.json ] || npm init -y > /dev/null; } &&
    npm install --no-audit --no-fund --silent regl-scatterplot@1.16.0 esbuild@0.28.2)
fi
site="$work/site-$ds-$scope"
mkdir -p "$site"
cp "$here/regl/app.js" "$here/regl/index.html" "$work/regl-npm/"
(cd "$work/regl-npm" && ./node_modules/.bin/esbuild app.js --bundle --format=esm --log-level=warning --outfile="$site/bundle.js")
cp "$here/regl/index.html" "$site/"
python3 "$here/regl/export_points.py" "$data" "$ds" "$scope" "$site/points.bin"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$site" > "$work/http.log" 2>&1 &
http_pid=$!
trap 'kill $http_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/index.html" > /dev/null && break; sleep 0.1; done

stamp=$(date +%Y%m%d-%H%M%S)
ours="$work/ours-$ds-$scope-$stamp.json"
peer="$work/regl-$ds-$scope-$stamp.json"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
(cd "$repo/latentscope-server/web" && node tests/bench.mjs "$url" "$runs") > "$ours"
load1=$(cut -d' ' -f1-3 /proc/loadavg)
node "$here/regl/run.mjs" "http://127.0.0.1:$port/index.html" "$runs" "$work/regl-$ds-$scope" > "$peer"
load2=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average (1/5/15 min): before $load0; after ours $load1; after regl $load2"
echo "results: $ours $peer"
python3 "$here/table.py" "$ours" "$peer"
# The stricter pan check: frames in which the view had moved, the mouse moves delivered, and
# when the explorer's start view was complete (probe.mjs).
probe_ours="$work/probe-ours-$ds-$scope-$stamp.json"
probe_peer="$work/probe-regl-$ds-$scope-$stamp.json"
(cd "$repo" && node bench/explorer/probe.mjs ours "$url" "$runs") > "$probe_ours"
(cd "$repo" && node bench/explorer/probe.mjs regl "http://127.0.0.1:$port/index.html" "$runs") > "$probe_peer"
load3=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "probe (load average after: $load3): $probe_ours $probe_peer"
python3 "$here/table.py" --probe "$probe_ours" "$probe_peer"
