#!/usr/bin/env python3
"""Writes small Parquet seeds for fuzz_parquet (fuzz/corpus-parquet/) with pyarrow: scalars, nested and
fixed-size lists, structs, dictionaries, every codec and both data page versions."""
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus-parquet")
os.makedirs(out, exist_ok=True)
n = 12
t = pa.table({
    "i": pa.array(range(n), pa.int64()),
    "f": pa.array([0.5 * i for i in range(n)], pa.float32()),
    "b": pa.array([i % 2 == 0 for i in range(n)]),
    "s": pa.array([None if i % 5 == 0 else f"s{i}" for i in range(n)]),
    "v": pa.array([[float(i)] * (i % 3) for i in range(n)], pa.list_(pa.float32())),
    "x": pa.array([[float(i)] * 3 for i in range(n)], pa.list_(pa.float32(), 3)),
    "p": pa.array([{"a": i, "b": {"c": str(i)}} for i in range(n)]),
    "d": pa.array(["red", "blue"] * (n // 2)).dictionary_encode(),
}).replace_schema_metadata({"huggingface": '{"info": {}}'})
for codec in ["snappy", "zstd", "gzip", "none"]:
    for page in ["1.0", "2.0"]:
        pq.write_table(t, os.path.join(out, f"{codec}_{page[0]}.parquet"), compression=codec,
                       data_page_version=page, row_group_size=5)
