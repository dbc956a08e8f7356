#!/usr/bin/env python3
"""Writes a scope's points for the regl-scatterplot harness: little-endian float32
x, y, cluster, random per row (the layout of ../shared/bench/explorer/points.bin).

    python3 export_points.py DATA_DIR DATASET SCOPE OUT.bin
"""
import sys
import numpy as np
import pyarrow.parquet as pq

data, ds, scope, out = sys.argv[1:]
t = pq.read_table(f"{data}/{ds}/scopes/{scope}.parquet", columns=["x", "y", "cluster", "deleted"]).to_pandas()
t = t[~t["deleted"]]
pts = np.empty((len(t), 4), np.float32)
pts[:, 0] = t["x"]; pts[:, 1] = t["y"]; pts[:, 2] = t["cluster"]
pts[:, 3] = np.random.default_rng(0).random(len(t))
pts.astype("<f4").tofile(out)
print(f"{out}: {len(t)} points, x [{pts[:,0].min():.3f}, {pts[:,0].max():.3f}], y [{pts[:,1].min():.3f}, {pts[:,1].max():.3f}], {int(pts[:,2].max())+1} clusters")
