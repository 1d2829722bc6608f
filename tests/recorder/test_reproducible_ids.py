#!/usr/bin/env python3
"""`tw record` under SOURCE_DATE_EPOCH: the same `tw rig --seed` session recorded twice gives the same
episode ids (hence the same tw fuse split) and the same samples; without it the ids carry the start
time; a malformed value is refused before anything is created. Env: TW_BIN."""
import glob
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "wm"))
import rigrec  # noqa: E402


def episodes(rec):
    return sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(rec, "*", "episode.h5")))


def main():
    import h5py
    import numpy as np
    with tempfile.TemporaryDirectory() as tmp:
        recs = []
        for name in ("a", "b"):
            os.makedirs(os.path.join(tmp, name))
            recs.append(rigrec.record(os.path.join(tmp, name), episodes=2, duration=1, seed=5, perturb="gain=0.9",
                                      ids_at=1767225600))  # 2026-01-01T00:00:00Z
        ids = [episodes(r) for r in recs]
        print("ids:", ids)
        assert ids[0] == ids[1] == ["20260101T000000Z-virtual-001", "20260101T000000Z-virtual-002"], ids
        for ep in ids[0]:
            f = [h5py.File(os.path.join(r, ep, "episode.h5"), "r") for r in recs]
            for stream in ("joint_state", "action"):
                a, b = (x["streams"][stream]["data"][()] for x in f)
                assert np.array_equal(a, b), (ep, stream)
            assert f[0].attrs["episode_id"] == f[1].attrs["episode_id"]

        os.makedirs(os.path.join(tmp, "c"))
        live = episodes(rigrec.record(os.path.join(tmp, "c"), episodes=1, duration=1, seed=5, perturb="gain=0.9"))
        assert len(live) == 1 and not live[0].startswith("20260101T000000Z"), live

        out = os.path.join(tmp, "bad")
        p = subprocess.run([rigrec.TW, "record", "--listen", "127.0.0.1:0", "--out", out, "--quiet"],
                           env=dict(os.environ, SOURCE_DATE_EPOCH="yesterday"), capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 2 and "SOURCE_DATE_EPOCH" in p.stderr, (p.returncode, p.stderr)
        assert not os.path.exists(out), "a refused start must create nothing"


if __name__ == "__main__":
    main()
