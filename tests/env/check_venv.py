"""Checks the Python peers in the project's .venv/ (made by scripts/setup-peers).

Run with .venv/bin/python (meson test env_peers). For each peer: it imports, and its installed version is the
one pinned in requirements-test*.txt (a stale .venv/ fails here, not in a later test). Debian's torch and
numpy must be the ones in use (PyPI's torch would mean gigabytes of CUDA; NumPy 2 breaks Debian's h5py).
LeRobotDataset and robomimic's SequenceDataset must work offline on data written here in a temp dir.
Prints one line per check and "N passed, N failed"; exits non-zero if any failed.
"""
import importlib
import importlib.metadata as md
import json
import os
import re
import sys
import tempfile
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REQ_FILES = ["requirements-test.txt", "requirements-test-nodeps.txt"]
# distribution -> module to import
PEERS = {
    "pyarrow": "pyarrow", "datasets": "datasets", "mcap": "mcap.reader", "mcap-ros2-support": "mcap_ros2.decoder",
    "rosbags": "rosbags.rosbag2", "foxglove-sdk": "foxglove", "mujoco": "mujoco.sysid",
    "lerobot": "lerobot.datasets.lerobot_dataset", "robomimic": "robomimic.utils.dataset",
}
DEBIAN = {"torch": "torch", "numpy": "numpy", "h5py": "h5py", "torchvision": "torchvision"}
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
    return ok


def pins():
    """name -> version for every '==' line of the requirements files (all of them, not only the peers)."""
    out = {}
    for f in REQ_FILES:
        with open(os.path.join(ROOT, f)) as fh:
            for line in fh:
                m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s#;]+)", line.strip())
                if m:
                    out[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(3)
    return out


def check_pins():
    wrong = []
    for name, want in sorted(pins().items()):
        try:
            have = md.version(name)
        except md.PackageNotFoundError:
            have = None
        if have != want:
            wrong.append(f"{name} {have or 'missing'} (pinned {want})")
    check("pinned versions installed", not wrong, "; ".join(wrong) + " -> run scripts/setup-peers --force" if wrong else f"{len(pins())} pins")


def check_imports():
    for dist, mod in PEERS.items():
        try:
            importlib.import_module(mod)
            check(f"import {mod}", True, f"{dist} {md.version(dist)}")
        except Exception as e:  # any import failure is a failed peer, with its reason
            check(f"import {mod}", False, f"{type(e).__name__}: {e} -> run scripts/setup-peers --force")
    for dist, mod in DEBIAN.items():
        try:
            m = importlib.import_module(mod)
        except Exception as e:
            check(f"Debian {mod}", False, f"{type(e).__name__}: {e} -> apt-get install python3-{mod}")
            continue
        where = os.path.dirname(m.__file__)
        check(f"Debian {mod}", where.startswith("/usr/lib/python3/"),
              f"{getattr(m, '__version__', '?')} from {where}")


def check_lerobot(tmp):
    """Writes a 2-episode dataset with LeRobotDataset.create, then reopens it from root= with the hub offline."""
    import numpy as np
    from lerobot.datasets.lerobot_dataset import LeRobotDataset
    root = os.path.join(tmp, "lerobot")
    feats = {"observation.state": {"dtype": "float32", "shape": (3,), "names": None},
             "action": {"dtype": "float32", "shape": (2,), "names": None}}
    ds = LeRobotDataset.create("local/tw-env-check", fps=10, features=feats, root=root, use_videos=False)
    for ep in range(2):
        for i in range(5):
            ds.add_frame({"observation.state": np.full(3, i, np.float32),
                          "action": np.full(2, ep, np.float32), "task": "reach"})
        ds.save_episode()
    ds.finalize()
    ds = LeRobotDataset("local/tw-env-check", root=root)
    item = ds[7]
    ok = (len(ds) == 10 and ds.num_episodes == 2 and item["observation.state"].tolist() == [2.0] * 3
          and item["action"].tolist() == [1.0, 1.0] and item["task"] == "reach")
    check("LeRobotDataset offline (write + read local root)", ok, f"{len(ds)} frames, {ds.num_episodes} episodes")


def check_robomimic(tmp):
    """Reads a 2-demo robomimic-layout HDF5 file through SequenceDataset."""
    import h5py
    import numpy as np
    import robomimic.utils.obs_utils as obs_utils
    from robomimic.utils.dataset import SequenceDataset
    path = os.path.join(tmp, "robomimic.hdf5")
    with h5py.File(path, "w") as f:
        data = f.create_group("data")
        data.attrs["total"] = 8
        data.attrs["env_args"] = json.dumps({"env_name": "tw-env-check", "type": 1, "env_kwargs": {}})
        for k in range(2):
            g = data.create_group(f"demo_{k}")
            g.attrs["num_samples"] = 4
            q = np.arange(12, dtype=np.float32).reshape(4, 3) + 100 * k
            g.create_dataset("obs/qpos", data=q)
            g.create_dataset("next_obs/qpos", data=q + 1)
            g.create_dataset("actions", data=np.zeros((4, 2), np.float32))
            g.create_dataset("rewards", data=np.zeros(4))
            g.create_dataset("dones", data=np.zeros(4))
    obs_utils.initialize_obs_utils_with_obs_specs({"obs": {"low_dim": ["qpos"]}})
    ds = SequenceDataset(hdf5_path=path, obs_keys=["qpos"], dataset_keys=["actions"], seq_length=2,
                         hdf5_cache_mode=None)
    item = ds[5]  # demo_1, its second step
    ok = len(ds) == 8 and item["obs"]["qpos"].shape == (2, 3) and float(item["obs"]["qpos"][0][0]) == 103.0
    check("robomimic SequenceDataset (local HDF5)", ok, f"{len(ds)} samples")


def run(name, fn, *args):
    try:
        fn(*args)
    except Exception:
        check(name, False, traceback.format_exc().strip().splitlines()[-1])


def main():
    in_venv = os.path.realpath(sys.prefix) == os.path.realpath(os.path.join(ROOT, ".venv"))
    if not check("running in the project's .venv", in_venv,
                 sys.prefix if in_venv else f"sys.prefix is {sys.prefix}: run scripts/setup, then .venv/bin/python"):
        print(f"{results.count(True)} passed, {results.count(False)} failed")
        return 1
    with tempfile.TemporaryDirectory(prefix="tw-env-") as tmp:
        # set before the hub libraries are imported: nothing may be fetched, no cache outside tmp
        os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_HOME=os.path.join(tmp, "hf-home"))
        run("pinned versions installed", check_pins)
        run("imports", check_imports)
        run("LeRobotDataset offline", check_lerobot, tmp)
        run("robomimic SequenceDataset", check_robomimic, tmp)
    print(f"{results.count(True)} passed, {results.count(False)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
