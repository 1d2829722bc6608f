"""Reader for teleworld fused datasets (format "teleworld.fused" 1.x, see schemas/fused.md).

    import teleworld_fused as tf
    ds = tf.FusedDataset("fused/")
    train = ds.load("train")                  # dict of NumPy arrays (whole split in memory)
    for shard in ds.iter_shards("train"): ... # one shard at a time (bounded memory)
    it = tf.WeightedIterableDataset("fused/", split="train", seed=0, num_samples=10000)
    loader = torch.utils.data.DataLoader(it, batch_size=256)

Needs numpy and h5py; torch only for WeightedIterableDataset.
"""
import hashlib
import json
import os

import h5py
import numpy as np

FORMAT = "teleworld.fused"
MAJOR = 1
SPLITS = ("train", "val", "test")
FIELDS = ("state", "action", "next_state", "domain", "episode", "t", "split", "weight")


class FusedFormatError(ValueError):
    pass


class FusedDataset:
    """A fused dataset folder: manifest.json plus shard-NNNNN.h5 files."""

    def __init__(self, path, verify=False):
        self.path = path
        mpath = os.path.join(path, "manifest.json")
        if not os.path.exists(mpath):
            raise FusedFormatError(f"{path}: no manifest.json (not a dataset, or fuse did not finish)")
        with open(mpath, "r", encoding="utf-8") as f:
            self.manifest = json.load(f)
        m = self.manifest
        if m.get("format") != FORMAT:
            raise FusedFormatError(f"{mpath}: format {m.get('format')!r} is not {FORMAT!r}")
        major = int(str(m.get("version", "0")).split(".")[0])
        if major != MAJOR:
            raise FusedFormatError(f"{mpath}: unsupported major version {m.get('version')}")
        self.window = int(m["window"])
        self.state_dim = int(m["state_dim"])
        self.action_dim = int(m["action_dim"])
        self.episodes = m["episodes"]
        self.splits = m["splits"]
        if verify:
            self.verify()

    # ---- metadata helpers ----
    def shards(self, split=None):
        return [s for s in self.manifest["shards"] if split is None or s["split"] == split]

    def features(self, kind="state"):
        return self.manifest["features"][kind]

    def stats_vector(self, group="state", key="mean"):
        """Concatenates a statistic over the features of `group` (state, action or delta) in column order."""
        kind = "action" if group == "action" else "state"
        feats = sorted(self.features(kind), key=lambda f: f["offset"])
        return np.concatenate([np.asarray(self.manifest["stats"][group][f["name"]][key], dtype=np.float64)
                               for f in feats])

    def normalize(self, x, group="state", eps=1e-8):
        mean = self.stats_vector(group, "mean")
        std = np.maximum(self.stats_vector(group, "std"), eps)
        return (x - mean) / std

    def verify(self):
        """Checks every shard's SHA-256 against the manifest."""
        for s in self.manifest["shards"]:
            h = hashlib.sha256()
            with open(os.path.join(self.path, s["file"]), "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            if h.hexdigest() != s["sha256"]:
                raise FusedFormatError(f"{s['file']}: content hash does not match the manifest")

    # ---- data ----
    def read_shard(self, entry):
        p = os.path.join(self.path, entry["file"])
        with h5py.File(p, "r") as f:
            if f.attrs.get("format") not in (b"teleworld.fused.shard", "teleworld.fused.shard"):
                raise FusedFormatError(f"{p}: not a teleworld fused shard")
            out = {k: f[k][()] for k in FIELDS}
        if len(out["state"]) != entry["samples"]:
            raise FusedFormatError(f"{p}: {len(out['state'])} samples, manifest says {entry['samples']}")
        return out

    def iter_shards(self, split):
        for entry in self.shards(split):
            yield self.read_shard(entry)

    def load(self, split):
        parts = list(self.iter_shards(split))
        if not parts:
            return {k: np.zeros((0,)) for k in FIELDS}
        return {k: np.concatenate([p[k] for p in parts]) for k in FIELDS}


def _torchable(v):
    a = np.asarray(v)
    return a.astype(np.int64) if a.dtype == np.uint32 else a  # torch has no uint32


def _torch():
    import torch  # imported lazily: NumPy users need no torch
    return torch


def _make_iterable():
    torch = _torch()

    class _Weighted(torch.utils.data.IterableDataset):
        """Draws `num_samples` samples of one split with replacement, with probability proportional to the
        fused `weight` (so real:sim follows the fuse --ratio), reproducibly for a seed. Shards are read one at
        a time: a shard is chosen by its weight mass, then `block` samples are drawn inside it. With
        DataLoader workers, each worker draws its share from its own seeded stream."""

        def __init__(self, path, split="train", seed=0, num_samples=None, block=256, normalize=False):
            super().__init__()
            self.ds = FusedDataset(path)
            if split not in SPLITS:
                raise ValueError(f"split must be one of {SPLITS}")
            self.split, self.seed, self.block, self.normalize = split, int(seed), int(block), normalize
            self.entries = self.ds.shards(split)
            if not self.entries:
                raise ValueError(f"{path}: split {split!r} has no samples")
            self.mass = []
            for e in self.entries:
                with h5py.File(os.path.join(path, e["file"]), "r") as f:
                    self.mass.append(float(np.sum(f["weight"][()], dtype=np.float64)))
            self.mass = np.asarray(self.mass)
            if not self.mass.sum() > 0:
                raise ValueError(f"{path}: split {split!r} has zero total weight")
            self.num_samples = int(num_samples if num_samples is not None else
                                   sum(e["samples"] for e in self.entries))

        def __len__(self):
            return self.num_samples

        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            wid, nw = (info.id, info.num_workers) if info else (0, 1)
            n = self.num_samples // nw + (1 if wid < self.num_samples % nw else 0)
            rng = np.random.default_rng([self.seed, wid])
            p = self.mass / self.mass.sum()
            cache_i, cache = -1, None
            done = 0
            while done < n:
                i = int(rng.choice(len(self.entries), p=p))
                if i != cache_i:
                    cache_i, cache = i, self.ds.read_shard(self.entries[i])
                w = cache["weight"].astype(np.float64)
                k = min(self.block, n - done)
                idx = rng.choice(len(w), size=k, p=w / w.sum())
                for j in idx:
                    s = {key: cache[key][j] for key in FIELDS}
                    if self.normalize:
                        s["state"] = self.ds.normalize(s["state"], "state").astype(np.float32)
                    yield {key: torch.as_tensor(_torchable(v)) for key, v in s.items()}
                done += k

    return _Weighted


def __getattr__(name):
    # WeightedIterableDataset is built on first use so that importing this module does not need torch.
    if name == "WeightedIterableDataset":
        cls = _make_iterable()
        globals()[name] = cls
        return cls
    raise AttributeError(name)
