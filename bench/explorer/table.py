#!/usr/bin/env python3
"""Side-by-side table of compare.sh's two JSON results (ours: tests/bench.mjs, peer: regl/run.mjs).

    python3 table.py OURS.json REGL.json
    python3 table.py --probe PROBE-OURS.json PROBE-REGL.json   (probe.mjs's results)

Each cell is the range over the runs (min–max) and, in brackets, the median; the last column
is the ratio of the medians (times: regl ÷ ours; fps: ours ÷ regl), said as "N× better" or
"N× worse" for the explorer.
"""
import json
import sys

probe = sys.argv[1] == "--probe"
args = sys.argv[2:] if probe else sys.argv[1:]
ours = json.load(open(args[0]))["runs"]
peer = json.load(open(args[1]))["runs"]


def med(v):
    v = sorted(v)
    return v[len(v) // 2]


def cell(v, fmt):
    return f"{fmt(min(v))}–{fmt(max(v))} ({fmt(med(v))})" if min(v) != max(v) else fmt(v[0])


ms = lambda x: f"{x:,.0f}"
fps = lambda x: f"{x:.1f}"
PROBE = [
    ("start view complete (every point in view drawn), ms", "startViewCompleteMs", "time", "≤ 3,000"),
    ("pan: animation frames per s", "fps", "fps", None),
    ("pan: frames per s in which the view moved", "movedFps", "fps", "≥ 10"),
    ("pan: mouse moves delivered per s", "movesSentPerS", "fps", None),
]
def main_rows():
  return [
    ("points", [r["total"] for r in ours], [r["npoints"] for r in peer], ms, None, None),
    ("first paint, ms (performance.now)", [r["firstPaintMs"] for r in ours], [r["firstPaintMs"] for r in peer], ms, "time", "≤ 1,500"),
    ("first paint from navigation, ms", [r["wallToFirstPaintMs"] for r in ours], [r["wallToFirstPaintMs"] for r in peer], ms, "time", "≤ 3,000"),
    ("pan fps, drag right after first paint", [r["panRightAfterFirstPaint"]["fps"] for r in ours], [r["pan"]["fps"] for r in peer], fps, "fps", "≥ 10"),
    ("worst frame in that drag, ms", [r["panRightAfterFirstPaint"]["worstFrameMs"] for r in ours], [r["pan"]["worstFrameMs"] for r in peer], ms, "time", None),
    ("all of the view drawn after it, ms", [r["allDrawnAfterFirstPanMs"] for r in ours], [r["allDrawnAfterPanMs"] for r in peer], ms, "time", "≤ 3,000"),
    ("pan fps, second drag (all loaded)", [r["panLoaded"]["fps"] for r in ours], [r["pan2"]["fps"] for r in peer], fps, "fps", "≥ 10"),
    ("worst frame in that drag, ms", [r["panLoaded"]["worstFrameMs"] for r in ours], [r["pan2"]["worstFrameMs"] for r in peer], ms, "time", None),
    ("all of the view drawn after it, ms", [r["allDrawnAfterPanMs"] for r in ours], [r["allDrawnAfterPan2Ms"] for r in peer], ms, "time", "≤ 3,000"),
  ]
rows = None if probe else main_rows()
if probe:
    rows = [(name, [r[k] for r in ours], [r[k] for r in peer], ms if kind == "time" else fps, kind, t) for name, k, kind, t in PROBE]
print(f"| | latentscope explorer ({len(ours)} runs) | regl-scatterplot 1.16.0 ({len(peer)} runs) | ratio (medians, for ours) | target (ours) |")
print("|---|---|---|---|---|")
for name, a, b, fmt, kind, target in rows:
    r = None
    if kind == "time":
        r = med(b) / max(med(a), 1)
    elif kind == "fps":
        r = med(a) / max(med(b), 0.1)
    ratio = "" if r is None else (f"{r:.1f}× better" if r >= 1 else f"{1 / r:.1f}× worse")
    print(f"| {name} | {cell(a, fmt)} | {cell(b, fmt)} | {ratio} | {target or ''} |")
if probe:
    print()
    print("ours, fewest points on screen in any frame of the drag:", ", ".join(str(r["drawnMinDuringDrag"]) for r in ours))
    sys.exit(0)
extra = [(r.get("drawnInFirstPaint"), r.get("arrivedAtFirstPaint"), r.get("budget")) for r in ours]
print()
print("ours, per run: points in the first frame / rows arrived by then / LOD budget:", "; ".join(f"{d} / {a} / {b}" for d, a, b in extra))
probs = [p for r in ours + peer for p in r.get("problems", [])]
print("renderer (regl page):", peer[0].get("renderer"))
print("console/page problems:", probs or "none")
