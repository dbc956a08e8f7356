#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target into fuzz/corpus/<target>/ (seed-*
files; what `cargo fuzz run` adds beside them is kept). The artifact seeds are
the files of a small dataset that the `latentscope` binary makes (pass its
path). Usage: make_seeds.py path/to/latentscope"""
import json, os, shutil, struct, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
corpus = os.path.join(here, "corpus")
binary = os.path.abspath(sys.argv[1])


def seed(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def npy(values, shape, descr="<f4"):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, repr(tuple(shape)))
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    fmt = {"<f4": "f", "<f8": "d", "<i8": "q"}[descr]
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + struct.pack("<%d%s" % (len(values), fmt), *values)


rows = ["red apple", "green apple", "ripe apple", "fast car", "red car", "old car"]
csv = "text,a,when\n" + "".join('"%s",%d,2024-0%d-01\n' % (t, i, i + 1) for i, t in enumerate(rows))
seed("table_csv", "small", csv)
seed("table_csv", "quoted", 'text,a\n"line\nbreak",1\n"comma, inside",\n"",3\n')
seed("table_csv", "unicode", "text\n👍 yes\nnaïve café\n\n")
seed("table_tsv", "small", csv.replace(",", "\t"))
seed("table_jsonl", "small", "".join(json.dumps({"text": t, "a": i, "tags": [i]}) + "\n" for i, t in enumerate(rows)))
seed("table_jsonl", "nulls", '{"text": null, "a": 1.5}\n{"text": "x", "b": true}\n')
vectors = [v for i in range(6) for v in ((1.0, 0.1 * i, 0.0) if i < 3 else (0.0, 0.1 * i, 1.0))]
seed("npy", "vectors-f32", npy(vectors, (6, 3)))
seed("npy", "layout-f64", npy([float(i) for i in range(12)], (6, 2), "<f8"))
seed("npy", "labels-i64", npy(list(range(6)), (6,), "<i8"))

with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "data")
    with open(os.path.join(tmp, "small.csv"), "w") as f:
        f.write(csv)
    with open(os.path.join(tmp, "v.npy"), "wb") as f:
        f.write(npy(vectors, (6, 3)))
    def ls(*args):
        subprocess.run([binary, "--data-dir", data, *args], check=True, capture_output=True)
    ls("ingest", "fuzz", os.path.join(tmp, "small.csv"), "--text-column", "text")
    ls("import-embedding", "fuzz", os.path.join(tmp, "v.npy"))
    ls("umap", "fuzz", "embedding-001", "--method", "pca")
    ls("cluster", "fuzz", "umap-001", "--min-cluster-size", "2", "--min-samples", "1")
    ls("label", "fuzz", "cluster-001")
    ls("scope", "fuzz", "embedding-001", "umap-001", "cluster-001", "1", "--label", "fuzz")
    ls("tag", "fuzz", "add", "fuzz", "1", "4")
    ds = os.path.join(data, "fuzz")
    seed("table_parquet", "input", open(os.path.join(ds, "input.parquet"), "rb").read())
    seed("table_parquet", "scope-input", open(os.path.join(ds, "scopes", "scopes-001-input.parquet"), "rb").read())
    files = [
        "meta.json",
        "embeddings/embedding-001.json",
        "embeddings/embedding-001.parquet",
        "umaps/umap-001.json",
        "umaps/umap-001.parquet",
        "clusters/cluster-001.json",
        "clusters/cluster-001.parquet",
        "clusters/cluster-001-labels-default.parquet",
        "clusters/cluster-001-labels-001.json",
        "clusters/cluster-001-labels-001.parquet",
        "scopes/scopes-001.json",
        "tags/fuzz.indices",
    ]
    for i, name in enumerate(files):
        body = open(os.path.join(ds, name), "rb").read()
        seed("artifact_file", "%02d-%s" % (i, name.replace("/", "-")), bytes([i]) + body)
print("seeds written under", corpus)
