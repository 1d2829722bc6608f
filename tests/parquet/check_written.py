#!/usr/bin/env python3
"""Conformance of files tw_parquet wrote: pyarrow (and HF datasets) must read them with the values and
schema that pyarrow itself gives for the same table written by pyarrow.

Usage: check_written.py all PATH NROWS CODEC ROWS_PER_GROUP
       check_written.py lerobot PATH
       check_written.py tasks PATH      (meta/tasks.parquet: pandas must restore the "task" index)
Exit 0 when every check holds; otherwise prints what differs and exits 1.
The formulas match test_parquet_writer.c."""
import json
import os
import sys
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq

# HF datasets: no network, no progress bars; its cache goes to a temp dir (see check_lerobot).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

HF = ('{"info": {"features": {"observation.state": {"feature": {"dtype": "float32", "_type": "Value"}, '
      '"length": 6, "_type": "List"}, "action": {"feature": {"dtype": "float32", "_type": "Value"}, "length": 6, '
      '"_type": "List"}, "timestamp": {"dtype": "float32", "_type": "Value"}, "frame_index": {"dtype": "int64", '
      '"_type": "Value"}, "episode_index": {"dtype": "int64", "_type": "Value"}, "index": {"dtype": "int64", '
      '"_type": "Value"}, "task_index": {"dtype": "int64", "_type": "Value"}}}}')
EPISODES = [30, 45, 25]


def all_table(n):
    return pa.table({
        "i64": pa.array([3 * i - 7 for i in range(n)], pa.int64()),
        "i32": pa.array([i % 1000 - 500 for i in range(n)], pa.int32()),
        "f32": pa.array([0.5 * i for i in range(n)], pa.float32()),
        "f64": pa.array([0.25 * i + 1 / 1024 for i in range(n)], pa.float64()),
        "flag": pa.array([i % 3 == 0 for i in range(n)], pa.bool_()),
        "name": pa.array([None if i % 7 == 0 else f"s{i}" for i in range(n)], pa.string()),
        "vec": pa.array([[i + 0.5 * k for k in range(i % 4)] for i in range(n)], pa.list_(pa.float32())),
        "state": pa.array([[10.0 * i + k for k in range(6)] for i in range(n)], pa.list_(pa.float32(), 6)),
        "ids": pa.array([[i, -i][: i % 3] for i in range(n)], pa.list_(pa.int64())),
        "tasks": pa.array([[f"t{i}"] * (i % 2) for i in range(n)], pa.list_(pa.string())),
        "img_mean": pa.array([[[[i + 0.1 * c]] for c in range(3)] for i in range(n)],
                             pa.list_(pa.list_(pa.list_(pa.float64())))),
    }).replace_schema_metadata({"huggingface": '{"info": {}}', "tw": "parquet test"})


def lerobot_table():
    import datasets
    import numpy as np
    feats = datasets.Features.from_dict(json.loads(HF)["info"]["features"])
    parts, start = [], 0
    for ep, n in enumerate(EPISODES):
        idx = np.arange(start, start + n)
        d = {
            "observation.state": (idx[:, None] * 6 + np.arange(6)).astype(np.float32) / 8,
            "action": -(idx[:, None] * 6 + np.arange(6)).astype(np.float32) / 8,
            "timestamp": (np.arange(n) / 30).astype(np.float32),
            "frame_index": np.arange(n), "episode_index": np.full(n, ep), "index": idx,
            "task_index": np.full(n, ep % 2),
        }
        parts.append(datasets.Dataset.from_dict(d, features=feats, split="train").with_format("arrow")[:])
        start += n
    return parts, feats


def reference(parts, schema, **kw):
    """The same rows written by pyarrow (one row group per part), read back."""
    fd, ref = tempfile.mkstemp(suffix=".parquet")
    os.close(fd)
    with pq.ParquetWriter(ref, schema=schema, **kw) as w:
        for p in parts:
            w.write_table(p)
    return ref


def compare(ours, ref, errors):
    a, b = pq.read_table(ours), pq.read_table(ref)
    if not a.schema.equals(b.schema, check_metadata=True):
        errors.append(f"Arrow schema differs:\n{a.schema}\nvs pyarrow's\n{b.schema}")
    # str() of a ParquetSchema starts with the object's address: compare from the second line.
    pa_s, pb_s = (str(pq.ParquetFile(p).schema).split("\n", 1)[1] for p in (ours, ref))
    if pa_s != pb_s:
        errors.append(f"Parquet schema differs:\n{pa_s}\nvs pyarrow's\n{pb_s}")
    if not a.equals(b):
        for name in b.column_names:
            if name in a.column_names and not a[name].equals(b[name]):
                errors.append(f"values of {name} differ: {a[name].slice(0, 3)} vs {b[name].slice(0, 3)}")


def check_all(path, n, codec, rg_rows, errors):
    t = all_table(n)
    parts = [t.slice(s, rg_rows) for s in range(0, n, rg_rows)]
    ref = reference(parts, t.schema, compression=codec)
    compare(path, ref, errors)
    md = pq.ParquetFile(path).metadata
    want_rgs = len(parts)
    if md.num_row_groups != want_rgs:
        errors.append(f"{md.num_row_groups} row groups, want {want_rgs}")
    got = md.row_group(0).column(0).compression.lower()
    if got != {"none": "uncompressed"}.get(codec.lower(), codec.lower()):
        errors.append(f"compression {got}, want {codec}")
    os.unlink(ref)


def check_lerobot(path, errors):
    import datasets
    parts, feats = lerobot_table()
    ref = reference(parts, parts[0].schema, compression="snappy", use_dictionary=True)
    compare(path, ref, errors)
    md = pq.ParquetFile(path).metadata
    sizes = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
    if sizes != EPISODES:
        errors.append(f"row groups {sizes}, want one per episode {EPISODES}")
    with tempfile.TemporaryDirectory() as cache:
        ds = datasets.Dataset.from_parquet(path, cache_dir=cache, keep_in_memory=True)
        if ds.features != feats:
            errors.append(f"datasets features {ds.features} != {feats}")
        if ds[31]["observation.state"] != [(31 * 6 + k) / 8 for k in range(6)]:
            errors.append(f"datasets row 31 observation.state = {ds[31]['observation.state']}")
    os.unlink(ref)


def check_tasks(path, errors):
    """LeRobot's load_tasks is pd.read_parquet: the frame must equal the one pandas itself wrote."""
    import pandas as pd
    tasks = ["pick the cube", "place it", "push"]
    want = pd.DataFrame({"task_index": range(3)}, index=pd.Index(tasks, name="task"))
    with tempfile.TemporaryDirectory() as d:
        ref = os.path.join(d, "tasks.parquet")
        want.to_parquet(ref)
        a, b = pd.read_parquet(path), pd.read_parquet(ref)
    try:
        pd.testing.assert_frame_equal(a, b)
    except AssertionError as e:
        errors.append(f"pandas frame differs from pandas' own file: {e}\n{a}\nvs\n{b}")


def main():
    errors = []
    if sys.argv[1] == "all":
        check_all(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), errors)
    elif sys.argv[1] == "lerobot":
        check_lerobot(sys.argv[2], errors)
    elif sys.argv[1] == "tasks":
        check_tasks(sys.argv[2], errors)
    else:
        sys.exit(f"unknown case {sys.argv[1]}")
    for e in errors:
        print(f"check_written {sys.argv[1]} {sys.argv[2]}: {e}", file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
