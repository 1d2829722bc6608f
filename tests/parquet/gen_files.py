#!/usr/bin/env python3
"""Writes the Parquet files the tw_parquet reader tests read, with the reference writer (pyarrow).

Usage: gen_files.py OUTDIR. Values follow formulas of the row number i that test_reader.c recomputes:
  i64 = 3*i - 7, i32 = i % 1000 - 500, f32 = 0.5*i, f64 = 0.25*i + 1/1024, flag = i % 3 == 0,
  name = "s<i>" (null when i % 7 == 0), color = ["red", "green", "blue"][i % 3].
Nested (nested.parquet): vec = list<float32> with i % 4 values i + 0.5*k (null list when i % 10 == 9),
  state = fixed_size_list<float32, 6> of 10*i + k, grid = list<list<float64>> with i % 3 inner lists of
  2 values i + 0.1*j + 0.01*k, pose = struct{x: int64 = i, meta: struct{tag: string = "z<i>"}},
  tags = list<string> ["t<i>", "u<i>"][: i % 3], cat = dictionary<int32, string> color.
"""
import json
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq

N = 5000
RG = 1000
COLORS = ["red", "green", "blue"]


def scalars(n):
    return pa.table({
        "i64": pa.array([3 * i - 7 for i in range(n)], pa.int64()),
        "i32": pa.array([i % 1000 - 500 for i in range(n)], pa.int32()),
        "f32": pa.array([0.5 * i for i in range(n)], pa.float32()),
        "f64": pa.array([0.25 * i + 1 / 1024 for i in range(n)], pa.float64()),
        "flag": pa.array([i % 3 == 0 for i in range(n)], pa.bool_()),
        "name": pa.array([None if i % 7 == 0 else f"s{i}" for i in range(n)], pa.string()),
        "color": pa.array([COLORS[i % 3] for i in range(n)], pa.string()),
    })


def nested(n):
    vec = [None if i % 10 == 9 else [i + 0.5 * k for k in range(i % 4)] for i in range(n)]
    grid = [[[i + 0.1 * j + 0.01 * k for k in range(2)] for j in range(i % 3)] for i in range(n)]
    pose_t = pa.struct([("x", pa.int64()), ("meta", pa.struct([("tag", pa.string())]))])
    return pa.table({
        "vec": pa.array(vec, pa.list_(pa.float32())),
        "state": pa.array([[10.0 * i + k for k in range(6)] for i in range(n)], pa.list_(pa.float32(), 6)),
        "grid": pa.array(grid, pa.list_(pa.list_(pa.float64()))),
        "pose": pa.array([{"x": i, "meta": {"tag": f"z{i}"}} for i in range(n)], pose_t),
        "tags": pa.array([[f"t{i}", f"u{i}"][: i % 3] for i in range(n)], pa.list_(pa.string())),
        "cat": pa.array([COLORS[i % 3] for i in range(n)], pa.string()).dictionary_encode(),
    })


def lerobot_data(out):
    """A LeRobot v3.0 data file written the way lerobot's dataset writer does it: HF datasets features
    (vectors as Sequence(length=n) -> fixed_size_list), ParquetWriter(snappy, use_dictionary=True),
    one write_table (one row group) per episode."""
    import datasets
    import numpy as np
    feats = datasets.Features({
        "observation.state": datasets.Sequence(length=6, feature=datasets.Value("float32")),
        "action": datasets.Sequence(length=6, feature=datasets.Value("float32")),
        "timestamp": datasets.Value("float32"),
        "frame_index": datasets.Value("int64"),
        "episode_index": datasets.Value("int64"),
        "index": datasets.Value("int64"),
        "task_index": datasets.Value("int64"),
    })
    writer = None
    start = 0
    for ep, n in enumerate([30, 45, 25]):
        idx = np.arange(start, start + n)
        d = {
            "observation.state": (idx[:, None] * 6 + np.arange(6)).astype(np.float32) / 8,
            "action": -(idx[:, None] * 6 + np.arange(6)).astype(np.float32) / 8,
            "timestamp": (np.arange(n) / 30).astype(np.float32),
            "frame_index": np.arange(n), "episode_index": np.full(n, ep), "index": idx,
            "task_index": np.full(n, ep % 2),
        }
        table = datasets.Dataset.from_dict(d, features=feats, split="train").with_format("arrow")[:]
        if writer is None:
            writer = pq.ParquetWriter(os.path.join(out, "lerobot_data.parquet"), schema=table.schema,
                                      compression="snappy", use_dictionary=True)
        writer.write_table(table)
        start += n
    writer.close()


def lerobot_meta(out):
    """meta/episodes/*.parquet (pa.Table.from_pydict of python lists) and meta/tasks.parquet (pandas)."""
    import pandas as pd
    eps = pa.Table.from_pydict({
        "episode_index": [0, 1], "tasks": [["pick the cube"], ["place it", "push"]], "length": [30, 45],
        "stats/action/min": [[0.0, -1.0], [0.5, -2.0]], "stats/action/count": [[30], [45]],
        "stats/observation.images.top/mean": [[[[0.1]], [[0.2]], [[0.3]]], [[[0.4]], [[0.5]], [[0.6]]]],
        "videos/observation.images.top/from_timestamp": [0.0, 1.0],
    })
    pq.write_table(eps, os.path.join(out, "lerobot_episodes.parquet"), compression="snappy")
    tasks = pd.DataFrame({"task_index": [0, 1]}, index=pd.Index(["pick the cube", "place it"], name="task"))
    tasks.to_parquet(os.path.join(out, "lerobot_tasks.parquet"))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    t = scalars(N)
    meta = {b"huggingface": json.dumps({"info": {"features": {"i64": {"dtype": "int64"}}}}).encode()}
    t = t.replace_schema_metadata(meta)
    cases = [  # name, compression, use_dictionary, data page version
        ("plain_snappy_v1", "snappy", False, "1.0"),
        ("dict_snappy_v1", "snappy", True, "1.0"),
        ("plain_zstd_v2", "zstd", False, "2.0"),
        ("dict_zstd_v2", "zstd", True, "2.0"),
        ("dict_gzip_v1", "gzip", True, "1.0"),
        ("plain_gzip_v2", "gzip", False, "2.0"),
        ("none_v1", "none", True, "1.0"),
    ]
    for name, codec, dic, page in cases:
        pq.write_table(t, os.path.join(out, name + ".parquet"), row_group_size=RG, compression=codec,
                       use_dictionary=dic, data_page_version=page, data_page_size=4096)
    for name, page in [("nested_v1", "1.0"), ("nested_v2", "2.0")]:
        pq.write_table(nested(N), os.path.join(out, name + ".parquet"), row_group_size=RG, compression="zstd",
                       data_page_version=page, data_page_size=4096)
    pq.write_table(scalars(1000), os.path.join(out, "many_rg.parquet"), row_group_size=10)
    lerobot_data(out)
    lerobot_meta(out)
    with open(os.path.join(out, "plain_snappy_v1.parquet"), "rb") as f:
        whole = f.read()
    with open(os.path.join(out, "truncated.parquet"), "wb") as f:
        f.write(whole[: len(whole) // 2])
    with open(os.path.join(out, "not_parquet.parquet"), "wb") as f:
        f.write(b"timestamp,value\n0.0,1.0\n" * 10)
    # A footer that claims more bytes than the file has: the magic is intact at both ends.
    with open(os.path.join(out, "bad_footer.parquet"), "wb") as f:
        f.write(whole[:4] + whole[-8:-4][::-1] + b"PAR1")


if __name__ == "__main__":
    main()
