#!/usr/bin/env python3
"""Checks that latentscope's input.parquet holds exactly the rows of the source
file, read by pyarrow: same column names, same order, same values, nulls and
empty strings where they were.

Usage: check_roundtrip.py SOURCE(.parquet|.csv) INPUT_PARQUET
CSV sources are read with pandas keeping strings as strings (empty cells are
null, as latentscope reads them)."""
import sys

import pyarrow.parquet as pq

source, ours = sys.argv[1], sys.argv[2]
got = pq.read_table(ours)
if source.endswith(".parquet"):
    want = pq.read_table(source)
    want = want.replace_schema_metadata(None)
    got_cmp = got.replace_schema_metadata(None)
    assert got_cmp.column_names == want.column_names, (got_cmp.column_names, want.column_names)
    assert got_cmp.num_rows == want.num_rows, (got_cmp.num_rows, want.num_rows)
    for name in want.column_names:
        a, b = got_cmp[name].to_pylist(), want[name].to_pylist()
        if a != b:
            bad = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
            sys.exit(f"column {name!r} differs at row {bad}: {a[bad]!r} != {b[bad]!r}")
    nulls = {n: want[n].null_count for n in want.column_names}
    empties = {n: sum(1 for v in want[n].to_pylist() if v == "") for n in want.column_names}
else:
    import pandas as pd

    want = pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""])
    df = got.to_pandas()
    assert list(df.columns) == list(want.columns), (list(df.columns), list(want.columns))
    assert len(df) == len(want), (len(df), len(want))
    for name in want.columns:
        a = [None if pd.isna(v) else str(v) for v in df[name]]
        b = [None if pd.isna(v) else v for v in want[name]]
        if a != b:
            bad = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
            sys.exit(f"column {name!r} differs at row {bad}: {a[bad]!r} != {b[bad]!r}")
    nulls = {n: int(want[n].isna().sum()) for n in want.columns}
    empties = {}
print(f"identical: {got.num_rows} rows, columns {got.column_names}, nulls {nulls}, empty strings {empties}")
