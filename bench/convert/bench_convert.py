"""The measurements of bench/convert/run (see there). Datasets: LeRobot v3.0 written with pyarrow as LeRobot lays
it out (one data file, one row group per episode), a v2.1 H.264 dataset from tests/lerobot/gen_lerobot.py, and a
robomimic file from tests/robomimic/gen_robomimic.py."""
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

TW, D, EPS, FRAMES, ROOT = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
DOF = 14


def make_v3(path, eps, frames):
    os.makedirs(f"{path}/data/chunk-000")
    os.makedirs(f"{path}/meta/episodes/chunk-000")
    rng = np.random.default_rng(1)
    schema = pa.schema([("observation.state", pa.list_(pa.float32(), DOF)), ("action", pa.list_(pa.float32(), DOF)),
                        ("timestamp", pa.float32()), ("frame_index", pa.int64()), ("episode_index", pa.int64()),
                        ("index", pa.int64()), ("task_index", pa.int64())])
    vec = lambda n: pa.FixedSizeListArray.from_arrays(pa.array(rng.standard_normal(n * DOF, dtype=np.float32)), DOF)
    with pq.ParquetWriter(f"{path}/data/chunk-000/file-000.parquet", schema, compression="snappy") as w:
        for e in range(eps):
            n = frames
            w.write_table(pa.table([vec(n), vec(n), pa.array((np.arange(n) / 30).astype(np.float32)),
                                    pa.array(np.arange(n)), pa.array(np.full(n, e)),
                                    pa.array(np.arange(e * n, (e + 1) * n)), pa.array(np.zeros(n, np.int64))],
                                   schema=schema))
    pq.write_table(pa.table({"episode_index": np.arange(eps), "tasks": [["task"]] * eps, "length": [frames] * eps,
                             "data/chunk_index": [0] * eps, "data/file_index": [0] * eps,
                             "dataset_from_index": np.arange(eps) * frames,
                             "dataset_to_index": (np.arange(eps) + 1) * frames}),
                   f"{path}/meta/episodes/chunk-000/file-000.parquet")
    pq.write_table(pa.table({"task_index": [0], "__index_level_0__": ["task"]}), f"{path}/meta/tasks.parquet")
    names = [f"joint{i + 1}" for i in range(DOF)]
    feats = {"observation.state": {"dtype": "float32", "shape": [DOF], "names": names},
             "action": {"dtype": "float32", "shape": [DOF], "names": names},
             "timestamp": {"dtype": "float32", "shape": [1], "names": None}}
    for k in ["frame_index", "episode_index", "index", "task_index"]:
        feats[k] = {"dtype": "int64", "shape": [1], "names": None}
    json.dump({"codebase_version": "v3.0", "robot_type": "bench", "total_episodes": eps, "total_frames": eps * frames,
               "total_tasks": 1, "chunks_size": 1000, "fps": 30, "splits": {"train": f"0:{eps}"},
               "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet", "video_path": None,
               "features": feats}, open(f"{path}/meta/info.json", "w"))
    return eps * frames * (2 * DOF * 4 + 4 + 4 * 8)


CPU = {}


def run(*args):
    """Wall seconds of one child process; its CPU seconds (user + sys) go to CPU[verb]."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(args, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode:
        sys.exit(f"{' '.join(args)}: {r.stderr}")
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime
    key = " ".join(args[1:3])
    CPU[key] = min(CPU.get(key, 1e9), cpu)
    return dt, cpu


def rss_of(*args):
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *args], capture_output=True, text=True)
    if r.returncode:
        sys.exit(r.stderr)
    return int(r.stderr.strip().splitlines()[-1]) / 1024


def best(f, n=3):
    return min(f() for _ in range(n))


def tabular():
    src = f"{D}/v3"
    nbytes = make_v3(src, EPS, FRAMES)
    mb = nbytes / 1e6
    files = glob.glob(f"{src}/data/*/*.parquet")

    def py_read():
        t = time.perf_counter()
        for p in files:
            pq.read_table(p).to_pydict() if False else pq.read_table(p)
        return time.perf_counter() - t

    def tw_import():
        shutil.rmtree(f"{D}/imp", ignore_errors=True)
        return run(TW, "import", "lerobot", src, "--out", f"{D}/imp")[0]

    tr, ti = best(py_read), best(tw_import)
    table = pq.read_table(files[0])

    def py_write():
        t = time.perf_counter()
        pq.write_table(table, f"{D}/w.parquet", compression="snappy", row_group_size=FRAMES)
        os.sync()
        return time.perf_counter() - t

    def tw_export():
        shutil.rmtree(f"{D}/exp", ignore_errors=True)
        return run(TW, "export", "lerobot", f"{D}/imp", "--out", f"{D}/exp")[0]

    tw_, te = best(py_write), best(tw_export)
    out_bytes = sum(os.path.getsize(p) for p in glob.glob(f"{D}/exp/**/*", recursive=True) if os.path.isfile(p))
    with open(f"{D}/all.bin", "wb") as f:
        for p in sorted(glob.glob(f"{D}/exp/**/*", recursive=True)):
            if os.path.isfile(p):
                f.write(open(p, "rb").read())

    def dd():
        t = time.perf_counter()
        subprocess.run(["dd", f"if={D}/all.bin", f"of={D}/dd.bin", "bs=1M", "conv=fsync"], capture_output=True, check=True)
        return time.perf_counter() - t

    tdd = best(dd)
    ci, ce = CPU["import lerobot"], CPU["export lerobot"]
    print(f"import  tw import lerobot {mb / ti:8.1f} MB/s wall ({mb / ci:7.1f} MB/CPU-s)   pyarrow read_table {mb / tr:8.1f} MB/s"
          f"   ratio {tr / ti:.3f} wall, {tr / ci:.3f} CPU   ({mb:.1f} MB of values, {EPS} episodes; tw also writes {EPS}"
          " crash-safe HDF5 episodes: 5 fsyncs each)")
    print(f"export  tw export lerobot {mb / te:8.1f} MB/s wall ({mb / ce:7.1f} MB/CPU-s)   pyarrow write_table {mb / tw_:8.1f} MB/s"
          f"   ratio {tw_ / te:.3f} wall, {tw_ / ce:.3f} CPU (tw also reads {EPS} HDF5 episodes, computes LeRobot's stats)")
    print(f"export  tw export lerobot {out_bytes / 1e6 / te:8.1f} MB/s of output   dd conv=fsync {out_bytes / 1e6 / tdd:8.1f} MB/s"
          f"   ratio {tdd / te:.3f}   ({out_bytes / 1e6:.1f} MB written)")


def memory():
    rows = []
    for k in [1, 4]:
        src = f"{D}/m{k}"
        make_v3(src, EPS * k // 2, FRAMES)
        a = rss_of(TW, "import", "lerobot", src, "--out", f"{D}/m{k}i")
        b = rss_of(TW, "export", "lerobot", f"{D}/m{k}i", "--out", f"{D}/m{k}e")
        rows.append((EPS * k // 2, a, b))
    for n, a, b in rows:
        print(f"memory  {n:5d} episodes: peak RSS import {a:6.1f} MB, export {b:6.1f} MB")


def video():
    src = f"{D}/v21"
    subprocess.run([sys.executable, f"{ROOT}/tests/lerobot/gen_lerobot.py", "v21", src, "--video", "--episodes", "8",
                    "--steps", "300", "--fps", "30"], check=True, capture_output=True)
    mp4 = sorted(glob.glob(f"{src}/videos/*/*/*.mp4"))
    nframes = sum(300 + e for e in range(8))

    def tw_imp():
        shutil.rmtree(f"{D}/vi", ignore_errors=True)
        return run(TW, "import", "lerobot", src, "--out", f"{D}/vi")[0]

    def ff():
        t = time.perf_counter()
        for i, p in enumerate(mp4):
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", p, "-c", "copy", f"{D}/ff{i}.mkv"], check=True)
        return time.perf_counter() - t

    a, b = best(tw_imp), best(ff)
    print(f"video   tw import (H.264 copied, + tabular, + HDF5) {nframes / a:8.0f} frames/s   ffmpeg -c copy {nframes / b:8.0f}"
          f" frames/s   ratio {b / a:.3f}   ({nframes} frames in {len(mp4)} files)")


def robomimic():
    src = f"{D}/rm.hdf5"
    subprocess.run(["/usr/bin/python3", f"{ROOT}/tests/robomimic/gen_robomimic.py", src, "--demos", "50", "--steps",
                    "400"], check=True, capture_output=True)
    import h5py
    size = 0
    with h5py.File(src) as f:
        f.visititems(lambda k, v: None)
    t = time.perf_counter()
    with h5py.File(src) as f:
        for d in f["data"]:
            for k in ["actions", "states", "rewards", "dones"]:
                size += f[f"data/{d}/{k}"][()].nbytes
            for k in f[f"data/{d}/obs"]:
                size += f[f"data/{d}/obs/{k}"][()].nbytes
    th = time.perf_counter() - t

    def imp():
        shutil.rmtree(f"{D}/rmi", ignore_errors=True)
        return run(TW, "import", "robomimic", src, "--out", f"{D}/rmi")[0]

    def exp():
        if os.path.exists(f"{D}/rmo.hdf5"):
            os.remove(f"{D}/rmo.hdf5")
        return run(TW, "export", "robomimic", f"{D}/rmi", "--out", f"{D}/rmo.hdf5")[0]

    a, b = best(imp), best(exp)
    mb = size / 1e6
    print(f"robomimic CPU: import {mb / CPU['import robomimic']:8.1f} MB/CPU-s, export {mb / CPU['export robomimic']:8.1f} MB/CPU-s")
    print(f"robomimic import {mb / a:8.1f} MB/s  export {mb / b:8.1f} MB/s   h5py read {mb / th:8.1f} MB/s"
          f"   ratios {th / a:.3f} / {th / b:.3f}   ({mb:.1f} MB of arrays, obs without next_obs)")


tabular()
video()
robomimic()
memory()
