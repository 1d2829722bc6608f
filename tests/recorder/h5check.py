#!/usr/bin/env python3
"""Independent reader for the recorder tests: summarises an episode with h5py (not our C
reader) as one JSON object on stdout: root attributes, per-stream sample counts and drop
attributes, per-video index length and file, event and clock counts, and checks that
seq, t_src_ns, t_recv_ns and data of each stream have the same length."""
import json
import sys

import h5py


def attrs(obj):
    out = {}
    for k, v in obj.attrs.items():
        if isinstance(v, bytes):
            v = v.decode()
        elif hasattr(v, "item"):
            v = v.item()
        out[k] = v
    return out


def main(path):
    res = {"streams": {}, "video": {}, "problems": []}
    with h5py.File(path, "r") as f:
        res["attrs"] = attrs(f)
        for name, g in f.get("streams", {}).items():
            n = len(g["seq"]) if "seq" in g else -1
            for col in ("t_src_ns", "t_recv_ns", "data"):
                if col in g and len(g[col]) != n:
                    res["problems"].append("%s/%s has %d rows, seq %d" % (name, col, len(g[col]), n))
            seq = g["seq"][:] if n > 0 else []
            res["streams"][name] = {"n": n, "attrs": attrs(g),
                                    "first_seq": int(seq[0]) if n > 0 else -1,
                                    "last_seq": int(seq[-1]) if n > 0 else -1}
        for name, g in f.get("video", {}).items():
            n = len(g["pts"]) if "pts" in g else -1
            res["video"][name] = {"n": n, "attrs": attrs(g)}
        res["events"] = len(f["events"]["t_ns"]) if "events" in f else -1
        res["clock"] = len(f["clock"]["offset_ns"]) if "clock" in f else -1
    json.dump(res, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
