"""tw import robomimic / tw export robomimic against robomimic's own reader (integration; needs .venv: robomimic
0.3.0, h5py from Debian). Files come from gen_robomimic.py (h5py, laid out as robomimic documents).

Checks: import gives one episode per demo with the right kinds, values and times (rate from env_args, then
--rate); round trip robomimic -> tw -> robomimic gives the same arrays, dtypes, attributes and masks (images
within x264's loss); robomimic's SequenceDataset opens the export; bad input (no data/, not HDF5, a dataset whose
length contradicts actions) fails naming file and field and leaves nothing."""
import glob
import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable
sys.path.insert(0, os.path.join(HERE, "../lerobot"))
from tw_convert_check import TW, check, expect_fail, run_tests, tw  # noqa: E402


def gen(path, *args):
    subprocess.run([PY, os.path.join(HERE, "gen_robomimic.py"), path, *args], check=True)


def walk(g, pre=""):
    out = {}
    for k, v in g.items():
        if isinstance(v, h5py.Group):
            out.update(walk(v, pre + k + "/"))
        else:
            out[pre + k] = v
    return out


def test_import(tmp, src):
    out = f"{tmp}/imp"
    tw("import", "robomimic", src, "--out", out)
    eps = sorted(glob.glob(f"{out}/*"))
    check(len(eps) == 3, "one episode per demo")
    with h5py.File(src) as s, h5py.File(f"{eps[1]}/episode.h5") as e:
        d = s["data/demo_1"]
        kinds = {k: json.loads(g.attrs["declaration"])["kind"] for k, g in e["streams"].items()}
        check(kinds["actions"] == "action" and kinds["obs.robot0_joint_pos"] == "joint_state"
              and kinds["obs.agentview_image"] == "video" and kinds["states"] == "tensor", "kinds by name and shape")
        js = e["streams/obs.robot0_joint_pos/data"][()]
        check(np.array_equal(js[:, 0], d["obs/robot0_joint_pos"][()]) and np.array_equal(js[:, 1], d["obs/robot0_joint_vel"][()]),
              "joint_state rows: *_joint_pos, *_joint_vel")
        check(np.array_equal(e["streams/actions/data"][()], d["actions"][()]), "actions equal")
        t = e["streams/actions/t_src_ns"][()]
        check(np.array_equal(t, np.arange(len(t)) * 50_000_000), "steps at 1 / control_freq (20 Hz from env_args)")
        meta = json.loads(e.attrs["metadata"])["source"]
        check(meta["format"] == "robomimic" and meta["group"] == "data/demo_1" and meta["masks"] == ["train"],
              "provenance: file, demo, masks")
    r = subprocess.run([TW, "inspect", eps[0]], capture_output=True, text=True)
    check(r.returncode == 0, "tw inspect passes on an imported demo")
    out2 = f"{tmp}/imp-rate"
    tw("import", "robomimic", src, "--out", out2, "--rate", "50")
    with h5py.File(f"{sorted(glob.glob(out2 + '/*'))[0]}/episode.h5") as e:
        check(e["streams/actions/t_src_ns"][1] == 20_000_000, "--rate overrides env_args")
    return out


def test_round_trip(tmp, src, imp):
    out = f"{tmp}/rt.hdf5"
    tw("export", "robomimic", imp, "--out", out)
    with h5py.File(src) as a, h5py.File(out) as b:
        A, B = walk(a), walk(b)
        check(set(A) == set(B), "same datasets after robomimic -> tw -> robomimic")
        for k in sorted(set(A) & set(B)):
            x, y = A[k][()], B[k][()]
            if x.dtype.kind == "S":
                ok = list(x) == list(y)
            elif "image" in k:
                ok = x.shape == y.shape and x.dtype == y.dtype and np.abs(x.astype(int) - y.astype(int)).mean() < 3
            else:
                ok = x.shape == y.shape and x.dtype == y.dtype and np.array_equal(x, y)
            check(ok, f"round trip: {k}")
        check(json.loads(a["data"].attrs["env_args"]) == json.loads(b["data"].attrs["env_args"])
              and a["data"].attrs["total"] == b["data"].attrs["total"], "env_args and total kept")
        for d in a["data"]:
            check(a[f"data/{d}"].attrs["num_samples"] == b[f"data/{d}"].attrs["num_samples"], f"{d}: num_samples")
    code = f"""
import robomimic.utils.obs_utils as O
from robomimic.utils.dataset import SequenceDataset
O.initialize_obs_modality_mapping_from_dict({{"low_dim": ["robot0_joint_pos", "robot0_eef_pos"], "rgb": ["agentview_image"]}})
for flt in ["train", "valid"]:
    ds = SequenceDataset(hdf5_path={out!r}, obs_keys=["robot0_joint_pos", "robot0_eef_pos", "agentview_image"],
        dataset_keys=["actions", "rewards", "dones"], load_next_obs=True, frame_stack=1, seq_length=10,
        pad_frame_stack=True, pad_seq_length=True, get_pad_mask=False, goal_mode=None, hdf5_cache_mode="low_dim",
        hdf5_use_swmr=True, hdf5_normalize_obs=False, filter_by_attribute=flt)
    x = ds[5]
    assert x["actions"].shape == (10, 7) and x["obs"]["agentview_image"].shape == (10, 64, 80, 3), x["actions"].shape
    print(flt, len(ds))
"""
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True)
    if r.returncode:
        print(r.stderr[-2000:])
    check(r.returncode == 0, "robomimic's SequenceDataset opens the export (train and valid masks)")


def test_bad(tmp, src):
    p = f"{tmp}/nodata.hdf5"
    gen(p, "--no-data")
    expect_fail(tmp, "robomimic", "no data", p, ["nodata.hdf5", "'data'"])
    p = f"{tmp}/noth5.hdf5"
    open(p, "wb").write(b"not hdf5 at all" * 100)
    expect_fail(tmp, "robomimic", "not hdf5", p, ["noth5.hdf5", "HDF5"])
    p = f"{tmp}/short.hdf5"
    shutil.copy(src, p)
    with h5py.File(p, "a") as f:
        del f["data/demo_2/states"]
        f["data/demo_2/states"] = np.zeros((3, 32))
    expect_fail(tmp, "robomimic", "length", p, ["short.hdf5", "demo_2", "states"])
    p = f"{tmp}/trunc.hdf5"
    data = open(src, "rb").read()
    open(p, "wb").write(data[: len(data) // 3])
    expect_fail(tmp, "robomimic", "truncated", p, ["trunc.hdf5"])


def body(tmp):
    src = f"{tmp}/src.hdf5"
    gen(src, "--image", "64", "80", "--demos", "3")
    imp = test_import(tmp, src)
    test_round_trip(tmp, src, imp)
    test_bad(tmp, src)


if __name__ == "__main__":
    run_tests("tw-robomimic-", body)
