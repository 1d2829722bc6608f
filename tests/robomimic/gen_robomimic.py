"""Writes a robomimic-layout HDF5 file with h5py, as robomimic documents it (robomimic.readthedocs.io,
"Datasets" / "Dataset Structure"): data/ with attrs total and env_args (JSON), data/demo_N/ with attr num_samples
and datasets actions, states, rewards, dones, obs/*, next_obs/*; mask/train and mask/valid as byte strings.

usage: gen_robomimic.py OUT.hdf5 [--demos N] [--steps T] [--image H W] [--no-data] [--seed S]"""
import argparse
import json

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--demos", type=int, default=3)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--image", type=int, nargs=2, default=None)
    ap.add_argument("--no-data", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--control-freq", type=float, default=20)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    with h5py.File(a.out, "w") as f:
        if a.no_data:
            f.create_group("something_else")
            return
        data = f.create_group("data")
        env_args = {"env_name": "Lift", "type": 1,
                    "env_kwargs": {"robots": ["Panda"], "control_freq": a.control_freq, "has_renderer": False}}
        data.attrs["env_args"] = json.dumps(env_args)
        total = 0
        names = []
        for d in range(a.demos):
            T = a.steps + 5 * d
            g = data.create_group(f"demo_{d}")
            g.attrs["num_samples"] = T
            g.attrs["model_file"] = "<mujoco/>"
            q = np.cumsum(rng.normal(0, 0.01, (T + 1, 7)), axis=0)
            obs = {"robot0_joint_pos": q[:-1], "robot0_joint_vel": np.diff(q, axis=0) * a.control_freq,
                   "robot0_eef_pos": rng.normal(0, 1, (T, 3)), "robot0_eef_quat": rng.normal(0, 1, (T, 4)),
                   "robot0_gripper_qpos": rng.normal(0, 1, (T, 2)).astype(np.float32),
                   "object": rng.normal(0, 1, (T, 10))}
            if a.image:
                H, W = a.image
                img = np.zeros((T, H, W, 3), np.uint8)
                for t in range(T):
                    img[t, :, :, 0] = (t * 5) % 256
                    img[t, :, :, 1] = np.linspace(0, 255, W)[None, :].astype(np.uint8)
                    img[t, :, :, 2] = np.linspace(0, 255, H)[:, None].astype(np.uint8)
                obs["agentview_image"] = img
            for k, v in obs.items():
                g.create_dataset(f"obs/{k}", data=v)
                nxt = np.concatenate([v[1:], v[-1:]], axis=0)
                g.create_dataset(f"next_obs/{k}", data=nxt)
            g.create_dataset("actions", data=rng.uniform(-1, 1, (T, 7)))
            g.create_dataset("states", data=rng.normal(0, 1, (T, 32)))
            g.create_dataset("rewards", data=(np.arange(T) == T - 1).astype(np.float64))
            dones = np.zeros(T, np.int64)
            dones[-1] = 1
            g.create_dataset("dones", data=dones)
            total += T
            names.append(f"demo_{d}")
        data.attrs["total"] = total
        nval = max(1, a.demos // 5) if a.demos > 1 else 0
        f.create_dataset("mask/train", data=np.array(names[:len(names) - nval], dtype="S"))
        f.create_dataset("mask/valid", data=np.array(names[len(names) - nval:], dtype="S"))


if __name__ == "__main__":
    main()
