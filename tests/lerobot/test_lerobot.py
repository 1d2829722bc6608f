"""tw import lerobot / tw export lerobot against LeRobot's own code (integration; needs .venv: lerobot 0.4.4,
pyarrow, datasets, av). Datasets come from gen_lerobot.py (LeRobot's writer for v3.0, pyarrow for v2.1).

Checks: import of v3.0 (H.264 with B-frames, AV1) and v2.1 (H.264 without B-frames: copied) gives the values and
frame counts of the source; export is read by pyarrow (every file), HF datasets (data with info.json's
features) and LeRobotDataset (offline, same values); round trips LeRobot -> tw -> LeRobot (same values, stats
within tolerance of LeRobot's) and tw -> LeRobot -> tw (video packets copied both ways, byte-identical);
--episodes and --map; AV1 export decodes with PyAV; bad input fails naming file and field and leaves nothing."""
import glob
import json
import os
import shutil
import subprocess
import sys

import av
import h5py
import numpy as np
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable
from tw_convert_check import TW, check, episode_dirs, expect_fail, run_tests, tw  # noqa: E402


def gen(*args):
    subprocess.run([PY, os.path.join(HERE, "gen_lerobot.py"), *args], check=True, capture_output=True)


def read_stream(ep, name):
    with h5py.File(f"{ep}/episode.h5") as f:
        g = f[f"streams/{name}"]
        return json.loads(g.attrs["declaration"]), g["t_src_ns"][()], g["data"][()] if "data" in g else None


def n_video(ep, name):
    with h5py.File(f"{ep}/episode.h5") as f:
        return len(f[f"video/{name}/pts"])


def source_rows(ds):
    """All rows of a LeRobot dataset's data files, as {column: array} (pyarrow)."""
    files = sorted(glob.glob(f"{ds}/data/*/*.parquet"))
    t = [pq.read_table(p).to_pydict() for p in files]
    return {k: np.concatenate([np.asarray(x[k]) for x in t]) for k in t[0]}


def test_import(tmp, ds, version, copied):
    out = f"{tmp}/imp-{version}"
    tw("import", "lerobot", ds, "--out", out)
    src = source_rows(ds)
    eps = episode_dirs(out)
    check(len(eps) == len(set(src["episode_index"])), f"{version}: one episode folder per source episode")
    for e, ep in enumerate(eps):
        rows = src["episode_index"] == e
        decl, t, js = read_stream(ep, "observation.state")
        check(decl["kind"] == "joint_state" and js.shape[1:] == (3, 6), f"{version} ep{e}: observation.state -> joint_state")
        check(np.array_equal(js[:, 0, :].astype(np.float32), np.stack(src["observation.state"][rows])),
              f"{version} ep{e}: positions equal the parquet values")
        pos = js[:, 0, :]
        check(np.allclose(js[:, 1, :], np.gradient(pos, t * 1e-9, axis=0), atol=1e-6) and np.all(np.isnan(js[:, 2, :])),
              f"{version} ep{e}: velocity by finite differences (not in the source), effort NaN")
        check(np.array_equal(t, np.round(src["timestamp"][rows].astype(np.float64) * 10) * 1e8),
              f"{version} ep{e}: timestamp -> t_src_ns")
        decl, _, act = read_stream(ep, "action")
        check(decl["kind"] == "action" and np.array_equal(act, np.stack(src["action"][rows])), f"{version} ep{e}: action")
        decl, _, ex = read_stream(ep, "observation.extra")
        check(decl["kind"] == "tensor" and np.array_equal(ex, np.stack(src["observation.extra"][rows])),
              f"{version} ep{e}: unmapped feature kept as tensor")
        if os.path.exists(f"{ep}/observation.images.cam.mkv"):
            decl, _, _ = read_stream(ep, "observation.images.cam")
            check(n_video(ep, "observation.images.cam") == rows.sum(), f"{version} ep{e}: one video frame per row")
            check(decl["encoding"] == ("h264" if copied else "rgb24"),
                  f"{version} ep{e}: video {'copied (H.264, no B-frames)' if copied else 'decoded for re-encoding'}")
            with av.open(f"{ep}/observation.images.cam.mkv") as c:
                frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
            red = [int(np.median(f[:, :, 0])) for f in frames]
            want = [(10 * k + 40 * e) % 256 for k in range(rows.sum())]
            check(max(abs(a - b) for a, b in zip(red, want)) <= 6, f"{version} ep{e}: frames are the episode's frames")
        with h5py.File(f"{ep}/episode.h5") as f:
            src_meta = json.loads(f.attrs["metadata"])["source"]
        check(src_meta["format"] == "lerobot" and src_meta["codebase_version"] == ("v3.0" if version.startswith("v3") else "v2.1")
              and src_meta["episode_index"] == e and "observation.state" in src_meta["streams"],
              f"{version} ep{e}: provenance in metadata")
        r = subprocess.run([TW, "inspect", ep], capture_output=True, text=True)
        check(r.returncode == 0, f"{version} ep{e}: tw inspect passes")
    return out


def test_export(tmp, imported, ds, version):
    out = f"{tmp}/exp-{version}"
    tw("export", "lerobot", imported, "--out", out)
    for p in glob.glob(f"{out}/**/*.parquet", recursive=True):
        pq.read_table(p)
    check(True, f"{version}: pyarrow reads every parquet file of the export")
    a, b = source_rows(ds), source_rows(out)
    for k in a:
        check(np.array_equal(np.stack(a[k]) if a[k].dtype == object else a[k],
                             np.stack(b[k]) if b[k].dtype == object else b[k]), f"{version} round trip: column {k} equal")
    info = json.load(open(f"{out}/meta/info.json"))
    src_info = json.load(open(f"{ds}/meta/info.json"))
    check(info["codebase_version"] == "v3.0" and info["total_frames"] == src_info["total_frames"]
          and info["total_episodes"] == src_info["total_episodes"], f"{version}: info.json totals")
    for k, f in src_info["features"].items():
        check(info["features"][k]["dtype"] == f["dtype"] and info["features"][k]["shape"] == f["shape"],
              f"{version}: feature {k} dtype and shape kept")
    if not os.path.exists(f"{ds}/meta/stats.json"):  # v2.1 keeps per-episode stats only
        return out
    stats, src_stats = json.load(open(f"{out}/meta/stats.json")), json.load(open(f"{ds}/meta/stats.json"))
    for k in ["observation.state", "action", "observation.extra", "timestamp", "index"]:
        if k not in src_stats:
            continue
        for s in ["min", "max", "mean", "std", "q01", "q10", "q50", "q90", "q99", "count"]:
            x, y = np.array(stats[k][s], float), np.array(src_stats[k][s], float)
            check(np.allclose(x, y, rtol=1e-5, atol=1e-5), f"{version}: stats {k}/{s} as LeRobot computes them")
    return out


def test_readers(out, version):
    code = f"""
import os, json, numpy as np, datasets, pyarrow.parquet as pq, glob
os.environ['HF_HUB_OFFLINE'] = '1'
from pathlib import Path
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from lerobot.datasets.utils import get_hf_features_from_features, load_info
info = load_info(Path({out!r}))
h = datasets.load_dataset('parquet', data_files=sorted(glob.glob({out!r} + '/data/*/*.parquet')),
                          features=get_hf_features_from_features(info['features']), split='train')
ds = LeRobotDataset('local/x', root={out!r}, download_videos=False)
assert len(ds) == len(h) == info['total_frames'], (len(ds), len(h))
for i in [0, len(h) // 2, len(h) - 1]:
    row = ds.hf_dataset[i]
    for k in ['observation.state', 'action', 'timestamp', 'episode_index', 'index']:
        assert np.array_equal(np.asarray(row[k]), np.asarray(h[i][k], dtype=np.asarray(row[k]).dtype)), k
print("READERS-OK", ds.meta.total_episodes, len(ds), flush=True)
os._exit(0)  # torch 1.13's thread teardown sometimes aborts at interpreter exit ("terminate called ...")
"""
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if r.returncode:
        print(r.stderr[-2000:])
    check(r.returncode == 0 and "READERS-OK" in r.stdout, f"{version}: HF datasets loads data/ with info.json's features; LeRobotDataset opens the "
                             "export offline with the same values")


def test_video_passthrough(tmp, imported_copy):
    """tw -> LeRobot -> tw: H.264 packets copied both ways (no re-encode): identical packet bytes."""
    out = f"{tmp}/exp-pass"
    tw("export", "lerobot", imported_copy, "--out", out)
    back = f"{tmp}/imp-pass"
    tw("import", "lerobot", out, "--out", back)
    for a, b in zip(episode_dirs(imported_copy), episode_dirs(back)):
        def packets(p):  # NAL units of each packet, parameter sets aside (a demuxer may repeat them in front)
            with av.open(p) as c:
                out = []
                for x in c.demux(video=0):
                    b, nals, i = bytes(x), [], 0
                    while i + 4 <= len(b):
                        n = int.from_bytes(b[i:i + 4], "big")
                        if b[i + 4] & 0x1F not in (7, 8):
                            nals.append(b[i + 4:i + 4 + n])
                        i += 4 + n
                    if b:
                        out.append(nals)
                return out
        pa_, pb = packets(f"{a}/observation.images.cam.mkv"), packets(f"{b}/observation.images.cam.mkv")
        check(len(pa_) == len(pb) and pa_ == pb,
              f"{os.path.basename(a)}: video slices byte-identical after tw -> LeRobot -> tw (copied, not re-encoded)")
    mp4 = sorted(glob.glob(f"{out}/videos/observation.images.cam/*/*.mp4"))
    with av.open(mp4[0]) as c:
        check(c.streams.video[0].codec_context.name == "h264", "export without --video-codec keeps H.264")
    ok, nfiles = spans_ok(out, "observation.images.cam", json.load(open(f"{out}/meta/info.json"))["fps"])
    check(ok and nfiles == 1, "H.264 copies: episodes packed in one MP4, each span holds its frames at k/fps")


def spans_ok(out, key, fps):
    """Every episode's [from_timestamp, to_timestamp) holds exactly its frames, each at from + k/fps (1e-4 s, the
    tolerance LeRobot's decoder uses), episodes packed one after another in the file."""
    eps = pq.read_table(glob.glob(f"{out}/meta/episodes/*/*.parquet")[0]).to_pydict()
    ok = True
    for i, length in enumerate(eps["length"]):
        fi, a, b = (eps[f"videos/{key}/{c}"][i] for c in ("file_index", "from_timestamp", "to_timestamp"))
        with av.open(glob.glob(f"{out}/videos/{key}/chunk-000/file-{fi:03d}.mp4")[0]) as c:
            ts = [float(f.time) for f in c.decode(video=0)]
        mine = [t for t in ts if a - 1e-4 <= t < b - 1e-4]
        ok &= len(mine) == length and all(abs(t - (a + k / fps)) < 1e-4 for k, t in enumerate(mine))
    return ok, len(set(eps[f"videos/{key}/file_index"]))


def test_av1_export(tmp, imported):
    out = f"{tmp}/exp-av1"
    tw("export", "lerobot", imported, "--out", out, "--video-codec", "av1")
    mp4 = sorted(glob.glob(f"{out}/videos/observation.images.cam/*/*.mp4"))
    with av.open(mp4[0]) as c:
        check(c.streams.video[0].codec_context.name in ("libdav1d", "av1", "libaom-av1"), "--video-codec av1 writes AV1")
    info = json.load(open(f"{out}/meta/info.json"))
    check(info["features"]["observation.images.cam"]["info"]["video.codec"] == "av1", "info.json says av1")
    ok, nfiles = spans_ok(out, "observation.images.cam", info["fps"])
    check(ok and nfiles == 1, "AV1: episodes packed in one MP4, each span holds its frames at k/fps")


def test_episodes_and_map(tmp, ds):
    out = f"{tmp}/sel"
    tw("import", "lerobot", ds, "--out", out, "--episodes", "0,2")
    check([os.path.basename(d)[-2:] for d in episode_dirs(out)] == ["00", "02"], "--episodes 0,2 imports those two")
    m = f"{tmp}/map.json"
    json.dump({"streams": {"observation.extra": "joint_state"}}, open(m, "w"))
    out = f"{tmp}/mapped"
    tw("import", "lerobot", ds, "--out", out, "--episodes", "1", "--map", m)
    d1, _, _ = read_stream(episode_dirs(out)[0], "observation.extra")
    d2, _, _ = read_stream(episode_dirs(out)[0], "observation.state")
    check(d1["kind"] == "joint_state" and d2["kind"] == "tensor", "--map picks the joint_state feature")


def test_bad(tmp, v3, v21):
    b = f"{tmp}/b-version"
    shutil.copytree(v3, b)
    info = json.load(open(f"{b}/meta/info.json"))
    info["codebase_version"] = "v1.6"
    json.dump(info, open(f"{b}/meta/info.json", "w"))
    expect_fail(tmp, "lerobot", "version", b, ["info.json", "codebase_version", "v1.6"])
    b = f"{tmp}/b-trunc"
    shutil.copytree(v3, b)
    p = glob.glob(f"{b}/data/*/*.parquet")[0]
    data = open(p, "rb").read()
    open(p, "wb").write(data[: len(data) // 2])
    expect_fail(tmp, "lerobot", "truncated", b, ["file-000.parquet"])
    b = f"{tmp}/b-corrupt"
    shutil.copytree(v3, b)
    p = glob.glob(f"{b}/data/*/*.parquet")[0]
    data = bytearray(open(p, "rb").read())
    for i in range(200, len(data) - 400, 7):
        data[i] ^= 0x5A
    open(p, "wb").write(bytes(data))
    expect_fail(tmp, "lerobot", "corrupt", b, ["file-000.parquet"])
    b = f"{tmp}/b-video"
    shutil.copytree(v21, b)
    os.remove(f"{b}/videos/chunk-000/observation.images.cam/episode_000001.mp4")
    expect_fail(tmp, "lerobot", "missing video", b, ["episode_000001.mp4", "missing"])
    b = f"{tmp}/b-shape"
    shutil.copytree(v3, b)
    info = json.load(open(f"{b}/meta/info.json"))
    info["features"]["action"]["shape"] = [7]
    json.dump(info, open(f"{b}/meta/info.json", "w"))
    expect_fail(tmp, "lerobot", "shape", b, ["'action'", "shape"])


def test_sim_fused_replay(tmp):
    """simgen -> LeRobot -> tw: tw replay on the imported episode with the matching (builtin) model; a fused mix of
    real (imported) and sim episodes exports with teleworld/domain, split, weight and info.json splits."""
    sg, lr, imp, fz = f"{tmp}/sg", f"{tmp}/sgl", f"{tmp}/sgi", f"{tmp}/fz"
    tw("simgen", "--model", "builtin", "--episodes", "3", "--duration", "1", "--seed", "1", "--out", sg)
    tw("export", "lerobot", sg, "--out", lr)
    tw("import", "lerobot", lr, "--out", imp)
    ep = episode_dirs(imp)[0]
    r = tw("replay", ep, "--model", "builtin", "--out", f"{tmp}/rp", ok=False)
    summ = json.load(open(f"{tmp}/rp/summary.json")) if os.path.exists(f"{tmp}/rp/summary.json") else {}
    check(r.returncode == 0 and summ.get("episode_id") == os.path.basename(ep), "tw replay runs on an imported LeRobot episode")
    with h5py.File(f"{episode_dirs(sg)[0]}/episode.h5") as a, h5py.File(f"{ep}/episode.h5") as b:
        x, y = a["streams/joint_state/data"][()], b["streams/observation.state/data"][()]
        check(np.array_equal(x[:, 0], y[:, 0]), "sim joint positions survive tw -> LeRobot -> tw exactly")
    tw("fuse", "--real", imp, "--sim", sg, "--ratio", "1:1", "--split", "0.34/0.33/0.33", "--seed", "1",
       "--model", "builtin", "--out", fz)
    out = f"{tmp}/fzl"
    tw("export", "lerobot", fz, "--out", out)
    t = pq.read_table(glob.glob(f"{out}/meta/episodes/*/*.parquet")[0]).to_pydict()
    man = json.load(open(f"{fz}/manifest.json"))
    want = {e["id"]: (e["domain"], e["split"]) for e in man["episodes"]}
    got = {i: (d, s) for i, d, s in zip(t["teleworld/episode_id"], t["teleworld/domain"], t["teleworld/split"])}
    check(got == want, "fused export: teleworld/domain and teleworld/split per episode as in the manifest")
    w = {(d, s): man["weights"][s][d] for d, s in want.values()}
    check(all(abs(x - w[(d, s)]) < 1e-9 for x, d, s in zip(t["teleworld/weight"], t["teleworld/domain"], t["teleworld/split"])),
          "fused export: teleworld/weight is the manifest's sampling weight")
    sp = json.load(open(f"{out}/meta/info.json"))["splits"]
    check(sp == {"train": "0:2", "val": "2:4", "test": "4:6"}, "info.json splits as episode ranges")
    rm = f"{tmp}/fz.hdf5"
    tw("export", "robomimic", fz, "--out", rm)
    with h5py.File(rm) as f:
        check(sorted(f["mask"]) == ["test", "train", "valid"] and len(f["mask/valid"]) == 2,
              "robomimic export of a fused dataset: masks from the splits")


def body(tmp):
    v3h, v3a, v21 = f"{tmp}/v3h264", f"{tmp}/v3av1", f"{tmp}/v21"
    gen("v3", v3h, "--video", "h264")
    gen("v3", v3a, "--video", "libsvtav1")
    gen("v21", v21, "--video")
    v3i = f"{tmp}/v3image"
    gen("v3", v3i, "--video", "image", "--episodes", "2")
    test_import(tmp, v3i, "v3-image", copied=False)  # PNG in parquet: decoded for the episode writer
    i3h = test_import(tmp, v3h, "v3-h264", copied=False)  # LeRobot's x264 uses B-frames: decoded
    i3a = test_import(tmp, v3a, "v3-av1", copied=False)
    i21 = test_import(tmp, v21, "v21", copied=True)
    e3 = test_export(tmp, i3h, v3h, "v3-h264")
    test_export(tmp, i21, v21, "v21")
    test_readers(e3, "v3-h264")
    test_video_passthrough(tmp, i3a)
    test_av1_export(tmp, i21)
    test_episodes_and_map(tmp, v3h)
    test_bad(tmp, v3h, v21)
    test_sim_fused_replay(tmp)


if __name__ == "__main__":
    run_tests("tw-lerobot-", body)
