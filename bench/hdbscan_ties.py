"""How close HDBSCAN implementations are where mutual-reachability ties make several answers valid.

With min_samples > 1 every implementation breaks ties its own way, and each one's answer changes with the order of the
input rows (the same library, on the same points, in another row order, or with another NumPy sort). One run of a peer
is one draw from that spread, so agreement is measured over draws: every tool clusters the same points in DRAWS row
orders (draw 0 is the file's own order), the labels are mapped back to the original rows, and the table gives, for each
pair of tools, the mean adjusted Rand index over pairs of *different* draws (i != j), with its spread.

Run it with the peers' Python (../shared/bench/setup-peers.sh):

    $PEERS/bin/python bench/hdbscan_ties.py LAYOUT.npy [--draws 16] [--mcs 5,25] [--ms 5]
        [--peers best,generic,fast] [--ours target/release/examples/hdbscan_npy] [--save DIR]

Peers: best (hdbscan's default, Boruvka with an approximate MST), generic (hdbscan's exact O(n^2) algorithm; use prims
above ~20k points), prims (hdbscan's exact prims_kdtree), fast (fast_hdbscan). --ours runs our `hdbscan_npy` example
on each permuted file. --save writes each tool's draws as DIR/<tool>-mcs<M>-ms<S>-draws.npy (int32, draws x rows, in
the original row order), the form of the test fixtures in tests/fixtures/pypi-10k/draws/.

The row orders are shared with the Rust tests: draw k sorts the rows by splitmix64((k << 32) + row).
"""
import argparse, json, os, subprocess, sys, tempfile, time
import numpy as np
from sklearn.metrics import adjusted_rand_score

def splitmix64(x):
    """splitmix64 on a uint64 array (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def row_order(k, n):
    """Draw k's row order: position p holds original row order[p]."""
    if k == 0:
        return np.arange(n)
    keys = splitmix64((np.uint64(k) << np.uint64(32)) + np.arange(n, dtype=np.uint64))
    return np.argsort(keys, kind="stable")


def peer_labels(tool, X, mcs, ms):
    if tool == "fast":
        import fast_hdbscan
        return fast_hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=ms).fit(X).labels_
    import hdbscan
    algorithm = {"best": "best", "generic": "generic", "prims": "prims_kdtree"}[tool]
    return hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=ms, algorithm=algorithm).fit(X).labels_


def ours_labels(binary, X, mcs, ms, work):
    pts, out = os.path.join(work, "points.npy"), os.path.join(work, "labels.npy")
    np.save(pts, X.astype(np.float32))
    subprocess.run([binary, pts, str(mcs), str(ms), out], check=True, stdout=subprocess.DEVNULL)
    return np.load(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("layout")
    ap.add_argument("--draws", type=int, default=16)
    ap.add_argument("--mcs", default="5,25")
    ap.add_argument("--ms", type=int, default=5)
    ap.add_argument("--peers", default="best,generic,fast")
    ap.add_argument("--ours", default=None, help="path of the hdbscan_npy example binary")
    ap.add_argument("--save", default=None)
    a = ap.parse_args()
    X = np.load(a.layout).astype(np.float64)
    n, mcss, peers = len(X), [int(m) for m in a.mcs.split(",")], a.peers.split(",")
    tools = peers + (["ours"] if a.ours else [])
    draws = {(t, m): [] for t in tools for m in mcss}
    seconds = {t: 0.0 for t in tools}
    with tempfile.TemporaryDirectory() as work:
        for k in range(a.draws):
            order = row_order(k, n)
            Xk = np.ascontiguousarray(X[order])
            for t in tools:
                for m in mcss:
                    started = time.perf_counter()
                    L = ours_labels(a.ours, Xk, m, a.ms, work) if t == "ours" else peer_labels(t, Xk, m, a.ms)
                    seconds[t] += time.perf_counter() - started
                    back = np.empty(n, dtype=np.int32)
                    back[order] = L
                    draws[(t, m)].append(back)
            print(f"draw {k + 1}/{a.draws} done", file=sys.stderr, flush=True)
    if a.save:
        os.makedirs(a.save, exist_ok=True)
        for (t, m), d in draws.items():
            np.save(os.path.join(a.save, f"{t}-mcs{m}-ms{a.ms}-draws.npy"), np.stack(d))
    K = a.draws
    print(f"{os.path.basename(a.layout)}: {n} points, min_samples {a.ms}, {K} row orders; "
          f"mean ARI over pairs of different draws (± standard error over the row tool's draws)")
    for m in mcss:
        print(f"\nmin_cluster_size {m}\n")
        print("| tool | " + " | ".join(f"vs {p}" for p in peers) + " | clusters |")
        print("| --- |" + " --- |" * (len(peers) + 1))
        result = {}
        for t in tools:
            cells = []
            for p in peers:
                per = [np.mean([adjusted_rand_score(draws[(t, m)][i], draws[(p, m)][j]) for j in range(K) if j != i])
                       for i in range(K)]
                result[(t, p)] = float(np.mean(per))
                cells.append(f"{np.mean(per):.4f} ± {np.std(per) / np.sqrt(K):.4f}")
            counts = [int(d.max()) + 1 for d in draws[(t, m)]]
            print(f"| {t} | " + " | ".join(cells) + f" | {np.mean(counts):.1f} ({min(counts)}–{max(counts)}) |")
        if "ours" in tools and "fast" in tools:
            verdict = {p: result[("ours", p)] >= result[("fast", p)] for p in peers if p != "fast"}
            print("\nours at least as close as fast_hdbscan to: " + json.dumps(verdict))
    print("\nseconds per tool (all draws): " + json.dumps({t: round(s, 1) for t, s in seconds.items()}), file=sys.stderr)


if __name__ == "__main__":
    main()
