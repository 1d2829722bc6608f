"""LeRobot datasets for the converter tests, written by the reference writers.

  gen_lerobot.py v3 OUT [--episodes N] [--steps T] [--fps F] [--video h264|libsvtav1|image|none]
      LeRobot's own LeRobotDataset.create / add_frame / save_episode / finalize (lerobot 0.4.4): codebase v3.0;
      --video image: an `image` feature (PNG bytes in the data parquet) instead of a video.
  gen_lerobot.py v21 OUT [--episodes N] [--steps T] [--fps F] [--video]
      codebase v2.1 laid out with pyarrow exactly as LeRobot 2.1 wrote it (lerobot/common/datasets/utils.py of
      that release): meta/info.json, meta/episodes.jsonl, meta/tasks.jsonl, meta/episodes_stats.jsonl,
      data/chunk-000/episode_NNNNNN.parquet (one row group, HF "huggingface" metadata) and, with --video,
      videos/chunk-000/observation.images.cam/episode_NNNNNN.mp4 encoded with PyAV (libx264).

Values are a function of (episode, frame) so a test can recompute them: observation.state[j] = e + 0.01 t + j,
action[j] = -e - 0.02 t - j, observation.extra = [t, 2t] (float64), frame pixels = (10 t + 40 e) mod 256 in R."""
import argparse
import json
import os
import shutil

import numpy as np


def state(e, t):
    return (e + 0.01 * t + np.arange(6)).astype(np.float32)


def action(e, t):
    return (-e - 0.02 * t - np.arange(6)).astype(np.float32)


def image(e, t, h=96, w=128):
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 0] = (10 * t + 40 * e) % 256
    img[:, :, 1] = np.linspace(0, 255, w)[None, :].astype(np.uint8)
    img[:, :, 2] = 128
    return img


def v3(a):
    os.environ["HF_HUB_OFFLINE"] = "1"
    from lerobot.datasets.lerobot_dataset import LeRobotDataset
    shutil.rmtree(a.out, ignore_errors=True)
    names = [f"joint{i + 1}" for i in range(6)]
    feat = {"observation.state": {"dtype": "float32", "shape": (6,), "names": names},
            "action": {"dtype": "float32", "shape": (6,), "names": names},
            "observation.extra": {"dtype": "float64", "shape": (2,), "names": ["a", "b"]}}
    if a.video != "none":
        feat["observation.images.cam"] = {"dtype": "image" if a.video == "image" else "video", "shape": (96, 128, 3),
                                          "names": ["height", "width", "channels"]}
    kw = {"vcodec": a.video} if a.video not in ("none", "image") else {}
    ds = LeRobotDataset.create("test/tw", fps=a.fps, features=feat, root=a.out, robot_type="tw_arm",
                               use_videos=a.video not in ("none", "image"), **kw)
    for e in range(a.episodes):
        for t in range(a.steps + e):
            fr = {"observation.state": state(e, t), "action": action(e, t),
                  "observation.extra": np.array([t, 2 * t], np.float64), "task": f"task {e % 2}"}
            if a.video != "none":
                fr["observation.images.cam"] = image(e, t)
            ds.add_frame(fr)
        ds.save_episode()
    ds.finalize()


def v21(a):
    import pyarrow as pa
    import pyarrow.parquet as pq
    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(f"{a.out}/meta")
    os.makedirs(f"{a.out}/data/chunk-000")
    names = [f"joint{i + 1}" for i in range(6)]
    features = {
        "observation.state": {"dtype": "float32", "shape": [6], "names": names},
        "action": {"dtype": "float32", "shape": [6], "names": names},
        "observation.extra": {"dtype": "float64", "shape": [2], "names": ["a", "b"]},
    }
    if a.video:
        features["observation.images.cam"] = {
            "dtype": "video", "shape": [96, 128, 3], "names": ["height", "width", "channels"],
            "info": {"video.fps": a.fps, "video.height": 96, "video.width": 128, "video.channels": 3,
                     "video.codec": "h264", "video.pix_fmt": "yuv420p", "video.is_depth_map": False,
                     "has_audio": False}}
    for k in ["timestamp", "frame_index", "episode_index", "index", "task_index"]:
        features[k] = {"dtype": "float32" if k == "timestamp" else "int64", "shape": [1], "names": None}
    hf = {"info": {"features": {
        "observation.state": {"feature": {"dtype": "float32", "_type": "Value"}, "length": 6, "_type": "Sequence"},
        "action": {"feature": {"dtype": "float32", "_type": "Value"}, "length": 6, "_type": "Sequence"},
        "observation.extra": {"feature": {"dtype": "float64", "_type": "Value"}, "length": 2, "_type": "Sequence"},
        **{k: {"dtype": features[k]["dtype"], "_type": "Value"}
           for k in ["timestamp", "frame_index", "episode_index", "index", "task_index"]}}}}
    index = 0
    eps, tasks = [], {}
    for e in range(a.episodes):
        T = a.steps + e
        task = f"task {e % 2}"
        tasks.setdefault(task, len(tasks))
        cols = {
            "observation.state": pa.array([state(e, t) for t in range(T)], pa.list_(pa.float32(), 6)),
            "action": pa.array([action(e, t) for t in range(T)], pa.list_(pa.float32(), 6)),
            "observation.extra": pa.array([[t, 2.0 * t] for t in range(T)], pa.list_(pa.float64(), 2)),
            "timestamp": pa.array([t / a.fps for t in range(T)], pa.float32()),
            "frame_index": pa.array(range(T), pa.int64()),
            "episode_index": pa.array([e] * T, pa.int64()),
            "index": pa.array(range(index, index + T), pa.int64()),
            "task_index": pa.array([tasks[task]] * T, pa.int64()),
        }
        table = pa.table(cols).replace_schema_metadata({"huggingface": json.dumps(hf)})
        pq.write_table(table, f"{a.out}/data/chunk-000/episode_{e:06d}.parquet")
        if a.video:
            write_mp4(f"{a.out}/videos/chunk-000/observation.images.cam/episode_{e:06d}.mp4", e, T, a.fps)
        eps.append({"episode_index": e, "tasks": [task], "length": T})
        index += T
    info = {"codebase_version": "v2.1", "robot_type": "tw_arm", "total_episodes": a.episodes, "total_frames": index,
            "total_tasks": len(tasks), "total_videos": a.episodes if a.video else 0, "total_chunks": 1,
            "chunks_size": 1000, "fps": a.fps, "splits": {"train": f"0:{a.episodes}"},
            "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
            "video_path": "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
            if a.video else None, "features": features}
    with open(f"{a.out}/meta/info.json", "w") as f:
        json.dump(info, f, indent=4)
    with open(f"{a.out}/meta/episodes.jsonl", "w") as f:
        f.writelines(json.dumps(x) + "\n" for x in eps)
    with open(f"{a.out}/meta/tasks.jsonl", "w") as f:
        f.writelines(json.dumps({"task_index": i, "task": t}) + "\n" for t, i in tasks.items())
    with open(f"{a.out}/meta/episodes_stats.jsonl", "w") as f:
        f.writelines(json.dumps({"episode_index": x["episode_index"], "stats": {}}) + "\n" for x in eps)


def write_mp4(path, e, T, fps):
    import av
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with av.open(path, "w") as c:
        s = c.add_stream("libx264", rate=int(fps))
        s.width, s.height, s.pix_fmt = 128, 96, "yuv420p"
        s.options = {"g": "2", "bf": "0"}  # no B-frames: the importer copies these packets
        for t in range(T):
            for p in s.encode(av.VideoFrame.from_ndarray(image(e, t), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("version", choices=["v3", "v21"])
    ap.add_argument("out")
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--fps", type=int, default=10)
    ap.add_argument("--video", nargs="?", const="h264", default="none")
    a = ap.parse_args()
    if a.version == "v3":
        v3(a)
    else:
        a.video = a.video != "none"
        v21(a)


if __name__ == "__main__":
    main()
