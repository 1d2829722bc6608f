#!/usr/bin/python3
"""Independent reader check of an episode written by tests/episode/ep_fixture.c, with h5py
and ffprobe only (no teleworld code): layout of schemas/episode.md, exact values, and the
video files' frame counts against the per-frame index.

usage: check_episode.py EPISODE_DIR MIN_TICKS MAX_TICKS STATUS
Every stream must hold a prefix of the fixture's samples: at least the samples of MIN_TICKS
joint-state ticks and at most those of MAX_TICKS."""
import json
import subprocess
import sys

import h5py
import numpy as np

DIV = [1, 1, 5, 50, 2, 10, 16, 16, 16]
NAMES = ["arm", "wrist_ft", "cmd", "marks", "imu", "grid", "cam_h264", "cam_jpeg", "cam_rgb"]
SHAPES = [(3, 7), (6,), (8,), None, (10,), (2, 3), None, None, None]
DTYPES = ["<f8", "<f4", "<f8", None, "<f8", "<i4", None, None, None]


def count(s, ticks):
    return (ticks + DIV[s] - 1) // DIV[s]


def t_src(s, k):
    return 1000000000 + k * DIV[s] * 2000000 + s


def values(s, k, shape):
    e = np.arange(int(np.prod(shape)), dtype=np.int64)
    v = ((k[:, None] * 16 + e[None, :]) % 1000000).astype(np.float64)
    v += 0 if s == 5 else 0.25 * (s % 4)
    v[(k[:, None] + e[None, :]) % 2 == 1] *= -1
    return v.reshape((len(k),) + shape)


def ffprobe_frames(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_frames", "-of", "csv=p=0", path], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().split(",")[0])


def check(cond, what):
    if not cond:
        raise SystemExit("check_episode: FAIL: " + what)


def main():
    d, lo, hi, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    f = h5py.File(d + "/episode.h5", "r")
    a = f.attrs
    check(a["format"] == "teleworld.episode" and a["format_version"] == "1.0", "format attributes")
    check(a["status"] == status, "status %r, expected %r" % (a["status"], status))
    check(a["episode_id"] == "ep-test" and a["task"] == "pick the red cube" and a["operator"] == "alice", "metadata")
    check(json.loads(a["metadata"])["site"] == "lab", "metadata JSON")
    for s, name in enumerate(NAMES):
        g = f["streams"][name]
        n = len(g["t_src_ns"])
        check(count(s, lo) <= n <= count(s, hi), "%s: %d samples outside [%d, %d]" % (name, n, count(s, lo), count(s, hi)))
        k = np.arange(n, dtype=np.int64)
        check((g["seq"][:] == k).all(), name + " seq")
        check((g["t_src_ns"][:] == t_src(s, k)).all(), name + " t_src_ns")
        check((g["t_recv_ns"][:] == t_src(s, k) + 250000 + (k % 7) * 1000).all(), name + " t_recv_ns")
        decl = json.loads(g.attrs["declaration"])
        check(decl["name"] == name and int(g.attrs["id"]) == s + 1, name + " declaration")
        check(int(g.attrs["drops"]) == 0 and int(g.attrs["gaps"]) == 0, name + " drops")
        if SHAPES[s]:
            ds = g["data"]
            check(ds.dtype == np.dtype(DTYPES[s]) and ds.shape == (n,) + SHAPES[s], name + " data shape/dtype")
            check(ds.compression == "gzip" and ds.shuffle and ds.chunks is not None, name + " not chunked+compressed")
            check((ds[:].astype(np.float64) == values(s, k, SHAPES[s])).all(), name + " data values")
        elif name == "marks":
            texts = [x.decode() if isinstance(x, bytes) else x for x in g["data"][:]]
            check(texts == ['{"mark":%d,"note":"grasp \\u00e9"}' % i for i in range(n)], "event texts")
        else:
            v = f["video"][name]
            check(len(v["pts"]) == n and (np.diff(v["pts"][:]) >= 0).all(), name + " pts")
            check((v["t_src_ns"][:] == g["t_src_ns"][:]).all(), name + " index t_src")
            check(v["keyframe"][0] == 1 and (v["size"][:] > 0).all(), name + " keyframe/size")
            frames = ffprobe_frames(d + "/" + v.attrs["file"])
            tags = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format_tags", "-of", "json",
                                   d + "/" + v.attrs["file"]], capture_output=True, text=True, check=True).stdout
            tags = {k.upper(): x for k, x in json.loads(tags)["format"]["tags"].items()}
            check(tags.get("TELEWORLD_FORMAT") == "teleworld.episode 1.0", name + " video file format tag")
            check(frames == n, "%s: ffprobe counts %d frames, index has %d" % (name, frames, n))
    ev = f["events"]
    check(len(ev["t_ns"]) == len(ev["label"]) == len(ev["kind"]) == len(ev["data"]), "events columns")
    check(all(x == b"annotate" or x == "annotate" for x in ev["kind"][:]), "event kinds")
    check(len(f["clock"]["t_server_ns"]) == len(f["clock"]["offset_ns"]) >= 1, "clock")
    print("check_episode: OK %s" % d)


if __name__ == "__main__":
    main()
