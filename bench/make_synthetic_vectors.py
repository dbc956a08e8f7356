#!/usr/bin/env python3
"""Synthetic unit vectors for scale runs when real ones are not at hand:
N rows of D dims around C Gaussian blobs (numpy default_rng(0); centres
standard normal, sigma 0.6 per axis), L2-normalised, float32 .npy.

Usage: make_synthetic_vectors.py OUT.npy [N=703099] [D=384] [C=3000]"""
import sys

import numpy as np

out = sys.argv[1]
n, d, c = (int(a) for a in (sys.argv[2:] + ["703099", "384", "3000"][len(sys.argv) - 2:])[:3])
rng = np.random.default_rng(0)
centres = rng.standard_normal((c, d)).astype(np.float32)
x = centres[rng.integers(0, c, n)] + 0.6 * rng.standard_normal((n, d)).astype(np.float32)
x /= np.linalg.norm(x, axis=1, keepdims=True)
np.save(out, x.astype(np.float32))
print(f"{out}: {x.shape}")
