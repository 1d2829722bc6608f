#!/usr/bin/env python3
"""Integration tests for `tw simgen` and `tw fuse` (issue 6), on the real binaries and real files.

Run: test_fusion.py CASE   with CASE one of simgen_determinism, fuse_end_to_end, fuse_bad_inputs,
fuse_recorded, fuse_rank_dies, fuse_jobs, fuse_worker_dies.
Env: TW_BIN, TW_SHARED (robot models), TW_SOURCE_ROOT (python/ reader), TW_MKREAL, TW_HAVE_MPI."""
import filecmp
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

TW = os.environ["TW_BIN"]
MODEL = os.path.join(os.environ["TW_SHARED"], "models", "franka_emika_panda", "panda.xml")
MKREAL = os.environ["TW_MKREAL"]
HAVE_MPI = os.environ.get("TW_HAVE_MPI") == "1" and shutil.which("mpirun")
sys.path.insert(0, os.path.join(os.environ["TW_SOURCE_ROOT"], "python"))
import teleworld_fused as tf  # noqa: E402

MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np"]


def run(args, ok=True, mpi=0):
    cmd = (MPIRUN + [str(mpi)] if mpi else []) + [TW] + args
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
    if ok and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    if not ok and p.returncode == 0:
        raise AssertionError(f"{' '.join(cmd)} should have failed:\n{p.stderr}")
    return p


def simgen(out, n, seed, spec=None, jobs=1, mpi=0, duration="0.6"):
    a = ["simgen", "--model", MODEL, "--episodes", str(n), "--duration", duration, "--seed", str(seed),
         "--out", out, "--jobs", str(jobs), "--quiet"]
    if spec:
        a += ["--randomize", spec]
    return run(a, mpi=mpi)


def episode_content(d):
    """Everything in an episode.h5 except wall-clock attributes (ended_ns)."""
    out = {}
    with h5py.File(os.path.join(d, "episode.h5"), "r") as f:
        for k, v in f.attrs.items():
            if k != "ended_ns":
                out["@" + k] = v
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
            for k, v in obj.attrs.items():
                out[name + "@" + k] = v
        f.visititems(visit)
    return out


def same_content(a, b):
    ca, cb = episode_content(a), episode_content(b)
    assert ca.keys() == cb.keys(), (a, b)
    for k in ca:
        x, y = ca[k], cb[k]
        if isinstance(x, np.ndarray) and x.dtype != object:
            assert np.array_equal(x, y), f"{a} vs {b}: {k} differs"
        else:
            assert np.all(np.asarray(x) == np.asarray(y)), f"{a} vs {b}: {k} differs"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def check_fail(p, *words):
    err = p.stderr.lower()
    for w in words:
        assert w.lower() in err, f"error message lacks {w!r}: {p.stderr}"


# --------------------------------------------------------------------------------------------- cases
def case_simgen_determinism(tmp):
    spec = os.path.join(tmp, "spec.json")
    write(spec, json.dumps({"damping": [0.5, 2.0], "payload_kg": [0, 1], "noise": [0.5, 1.5],
                            "gain": {"dist": "normal", "mean": 1, "std": 0.1, "low": 0.8, "high": 1.2}}))
    a, b = os.path.join(tmp, "j1"), os.path.join(tmp, "j2")
    simgen(a, 4, 11, spec, jobs=1)
    simgen(b, 4, 11, spec, jobs=2)
    eps = sorted(os.listdir(a))
    assert eps == [f"sim-s11-00000{i}" for i in range(4)], eps
    assert sorted(os.listdir(b)) == eps
    for e in eps:
        same_content(os.path.join(a, e), os.path.join(b, e))
    if HAVE_MPI:
        c = os.path.join(tmp, "mpi")
        simgen(c, 4, 11, spec, jobs=1, mpi=2)
        assert sorted(os.listdir(c)) == eps
        for e in eps:
            same_content(os.path.join(a, e), os.path.join(c, e))
    # sim flag, sampled params inside the spec, and episodes differ from each other
    params = []
    for e in eps:
        with h5py.File(os.path.join(a, e, "episode.h5"), "r") as f:
            assert f.attrs["domain"] in ("sim", b"sim")
            params.append(json.loads(f.attrs["sim_params"]))
            assert f["streams/joint_state/data"].shape[0] == 300  # 0.6 s at 500 Hz
    for p in params:
        assert 0.5 <= p["damping"] <= 2 and 0 <= p["payload_kg"] <= 1 and 0.8 <= p["gain"] <= 1.2
    assert len({p["damping"] for p in params}) == 4
    # a different seed gives different data
    d = os.path.join(tmp, "s12")
    simgen(d, 1, 12, spec)
    with h5py.File(os.path.join(d, "sim-s12-000000", "episode.h5"), "r") as f:
        assert json.loads(f.attrs["sim_params"])["damping"] != params[0]["damping"]
    # bad randomisation specs: clear errors, nothing written
    for text, words in ((json.dumps({"dampnig": [0.5, 2]}), ["unknown parameter", "dampnig"]),
                        (json.dumps({"clock_offset_ms": [0, 5]}), ["clock_offset_ms"]),
                        (json.dumps({"damping": [2, 1]}), ["damping", "low <= high"]),
                        ("{\"damping\": [0.5,", ["line"])):
        write(spec, text)
        out = os.path.join(tmp, "bad")
        p = run(["simgen", "--model", MODEL, "--episodes", "1", "--duration", "0.2", "--randomize", spec,
                 "--out", out, "--quiet"], ok=False)
        check_fail(p, *words)
        assert not glob.glob(os.path.join(out, "sim-*"))
    p = run(["simgen", "--model", os.path.join(tmp, "nope.xml"), "--episodes", "1", "--out", out], ok=False)
    check_fail(p, "nope.xml")


def make_corpus(tmp, nreal=4, nsim=6):
    spec = os.path.join(tmp, "spec.json")
    write(spec, json.dumps({"damping": [0.5, 2.0], "payload_kg": [0, 0.5], "noise": [0, 1]}))
    sim = os.path.join(tmp, "sim")
    simgen(sim, nsim, 5, spec, jobs=2)
    rigsim = os.path.join(tmp, "rigsim")
    write(os.path.join(tmp, "rig.json"), json.dumps({"damping": 2.0, "noise": 1}))
    simgen(rigsim, nreal, 77, os.path.join(tmp, "rig.json"), jobs=2)
    real = os.path.join(tmp, "real")
    os.mkdir(real)
    for i, e in enumerate(sorted(os.listdir(rigsim))):
        subprocess.run([MKREAL, "--id", f"rec-{i:03d}", "--offset-ms", "250", os.path.join(rigsim, e),
                        os.path.join(real, f"rec-{i:03d}")], check=True)
    return real, sim, rigsim


def fuse(real, sim, out, extra=(), ok=True, mpi=0, ratio="1:4", split="0.5/0.25/0.25"):
    a = ["fuse", "--ratio", ratio, "--split", split, "--seed", "3", "--out", out, "--quiet"]
    if real:
        a += ["--real"] + list(real if isinstance(real, list) else [real])
    if sim:
        a += ["--sim"] + list(sim if isinstance(sim, list) else [sim])
    return run(a + list(extra), ok=ok, mpi=mpi)


def check_dataset(out, ratio):
    ds = tf.FusedDataset(out, verify=True)
    m = ds.manifest
    # no episode in two splits; every episode in one; real test held out of train
    sets = {s: set(m["splits"][s]) for s in tf.SPLITS}
    assert not (sets["train"] & sets["val"]) and not (sets["train"] & sets["test"]) and not (sets["val"] & sets["test"])
    assert set().union(*sets.values()) == {e["id"] for e in m["episodes"]}
    real_test = {e["index"] for e in m["episodes"] if e["domain"] == "real" and e["split"] == "test"}
    assert real_test, "a real episode must be held out for test"
    data = {s: ds.load(s) for s in tf.SPLITS}
    for s in tf.SPLITS:
        eps_in = {e["index"] for e in m["episodes"] if e["split"] == s}
        assert set(np.unique(data[s]["episode"]).tolist()) <= eps_in
        assert np.all(data[s]["split"] == tf.SPLITS.index(s))
        assert len(data[s]["state"]) == m["samples"][s]
    assert not set(np.unique(data["train"]["episode"]).tolist()) & real_test
    # domain labels match the episodes
    dom = np.array([0 if e["domain"] == "real" else 1 for e in m["episodes"]])
    for s in tf.SPLITS:
        assert np.array_equal(data[s]["domain"], dom[data[s]["episode"]])
    # weights: each split sums to 1, real:sim mass = R:S
    tr = data["train"]
    w = tr["weight"].astype(np.float64)
    assert abs(w.sum() - 1) < 1e-4
    r, s_ = ratio
    assert abs(w[tr["domain"] == 0].sum() - r / (r + s_)) < 1e-4
    # stats equal a NumPy recomputation over the train split
    H = m["window"]
    st = tr["state"].astype(np.float64)
    act = tr["action"].astype(np.float64).reshape(-1, m["action_dim"])
    nxt = tr["next_state"].astype(np.float64).reshape(len(st), H, -1)
    prev = np.concatenate([st[:, None, :], nxt[:, :-1, :]], axis=1)
    delta = (nxt - prev).reshape(-1, m["state_dim"])
    for group, arr in (("state", st), ("action", act), ("delta", delta)):
        kind = "action" if group == "action" else "state"
        for f in m["features"][kind]:
            col = arr[:, f["offset"]:f["offset"] + f["dim"]]
            g = m["stats"][group][f["name"]]
            assert g["count"] == len(col), (group, f["name"])
            np.testing.assert_allclose(g["mean"], col.mean(0), rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(g["std"], col.std(0), rtol=1e-7, atol=1e-10)
            np.testing.assert_array_equal(g["min"], col.min(0))
            np.testing.assert_array_equal(g["max"], col.max(0))
    # transitions really follow each other: next_state of sample t is the state of sample t+1
    ep0 = tr["episode"][0]
    sel = np.where(tr["episode"] == ep0)[0]
    t = tr["t"][sel]
    nxt_idx = np.searchsorted(t, t[:-1] + 1)
    okm = nxt_idx < len(t)
    okm[okm] &= t[nxt_idx[okm]] == t[:-1][okm] + 1
    assert okm.sum() > 10
    np.testing.assert_array_equal(tr["next_state"][sel[:-1][okm]].reshape(okm.sum(), -1)[:, :m["state_dim"]],
                                  tr["state"][sel[nxt_idx[okm]]])
    return ds, data


def case_fuse_end_to_end(tmp):
    real, sim, rigsim = make_corpus(tmp)
    a = os.path.join(tmp, "fa")
    fuse(real, sim, a, ["--shard-size", "200"])
    ds, data = check_dataset(a, (1, 4))
    m = ds.manifest
    assert m["format"] == "teleworld.fused" and m["version"].startswith("1.")
    assert [f["name"] for f in m["features"]["state"]] == ["qpos", "qvel"]
    assert all(len(e["sha256"]) == 64 for e in m["episodes"])
    assert len(m["shards"]) >= 3 and all(s["samples"] <= 200 for s in m["shards"])
    # the real episodes' 250 ms clock offset was corrected: a real episode aligns onto the same number of steps
    steps = {e["id"]: e["steps"] for e in m["episodes"]}
    assert all(abs(steps[f"rec-{i:03d}"] - 300) <= 1 for i in range(4)), steps
    # same inputs and seed: byte-identical shards and manifest; 2 MPI ranks: the same bytes
    b = os.path.join(tmp, "fb")
    fuse(real, sim, b, ["--shard-size", "200"])
    names = sorted(os.listdir(a))
    assert names == sorted(os.listdir(b))
    for n in names:
        assert filecmp.cmp(os.path.join(a, n), os.path.join(b, n), shallow=False), n
    if HAVE_MPI:
        c = os.path.join(tmp, "fc")
        fuse(real, sim, c, ["--shard-size", "200"], mpi=2)
        assert sorted(os.listdir(c)) == names
        for n in names:
            assert filecmp.cmp(os.path.join(a, n), os.path.join(c, n), shallow=False), f"{n} differs at K=2"
    # a different seed changes the split
    # windows and end-effector features, with the model
    w = os.path.join(tmp, "fw")
    fuse(real, sim, w, ["--window", "3", "--model", MODEL])
    dsw, dw = check_dataset(w, (1, 4))
    mw = dsw.manifest
    assert [f["name"] for f in mw["features"]["state"]] == ["qpos", "qvel", "ee_pos", "ee_quat"]
    assert dw["train"]["action"].shape[1:] == (3, mw["action_dim"])
    assert dw["train"]["next_state"].shape[1:] == (3, mw["state_dim"])
    q = dw["train"]["state"][:, mw["state_dim"] - 4:]
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1, atol=1e-5)
    # Python IterableDataset honours weights (real:sim 1:4) and the split, reproducibly
    import torch
    it = tf.WeightedIterableDataset(a, split="train", seed=5, num_samples=4000, block=64)
    doms, eps = [], []
    for batch in torch.utils.data.DataLoader(it, batch_size=500):
        doms.append(batch["domain"].numpy())
        eps.append(batch["episode"].numpy())
    doms, eps = np.concatenate(doms), np.concatenate(eps)
    assert len(doms) == 4000
    frac_real = float((doms == 0).mean())
    assert 0.15 < frac_real < 0.25, frac_real  # 1:4 -> 0.2
    assert set(np.unique(eps).tolist()) <= {e["index"] for e in m["episodes"] if e["split"] == "train"}
    again = np.concatenate([b_["episode"].numpy() for b_ in torch.utils.data.DataLoader(
        tf.WeightedIterableDataset(a, split="train", seed=5, num_samples=4000, block=64), batch_size=500)])
    assert np.array_equal(eps, again)
    # the mapping file: a source with renamed stream and joints fuses with --map, not without
    ren = os.path.join(tmp, "renamed")
    os.mkdir(ren)
    subprocess.run([MKREAL, "--id", "ren-000", "--rename-stream", "arm_state", "--joint-prefix", "fr3_",
                    os.path.join(rigsim, sorted(os.listdir(rigsim))[0]), os.path.join(ren, "ren-000")], check=True)
    p = fuse([real, ren], sim, os.path.join(tmp, "fm1"), ok=False)
    check_fail(p, "joint1", "ren-000", "absent")
    mp = os.path.join(tmp, "map.json")
    write(mp, json.dumps({"streams": {"arm_state": "joint_state"},
                          "axes": {f"fr3_{n}": n for n in m["features"]["state"][0]["axes"]}}))
    fuse([real, ren], sim, os.path.join(tmp, "fm2"), ["--map", mp])
    check_dataset(os.path.join(tmp, "fm2"), (1, 4))


def no_dataset(out):
    assert not os.path.exists(os.path.join(out, "manifest.json")), "manifest written on failure"
    assert not glob.glob(os.path.join(out, "shard-*.h5")), "complete-looking shard left on failure"


def case_fuse_bad_inputs(tmp):
    real, sim, rigsim = make_corpus(tmp, nreal=2, nsim=2)
    n = [0]

    def out():
        n[0] += 1
        return os.path.join(tmp, f"o{n[0]}")

    # impossible ratio: sim asked for, none given
    o = out()
    check_fail(fuse(real, None, o, ok=False, ratio="1:4"), "ratio", "sim")
    no_dataset(o)
    o = out()
    check_fail(fuse(None, sim, o, ok=False, ratio="1:4"), "ratio", "real")
    no_dataset(o)
    # corrupt episode
    bad = os.path.join(tmp, "corrupt", "bad-ep")
    os.makedirs(bad)
    write(os.path.join(bad, "episode.h5"), "this is not HDF5" * 100)
    o = out()
    check_fail(fuse([real, bad], sim, o, ok=False), "bad-ep")
    no_dataset(o)
    # truncated HDF5 file
    tr = os.path.join(tmp, "trunc", "tr-ep")
    os.makedirs(tr)
    src = os.path.join(sim, sorted(os.listdir(sim))[0], "episode.h5")
    with open(src, "rb") as f:
        blob = f.read()
    with open(os.path.join(tr, "episode.h5"), "wb") as f:
        f.write(blob[: len(blob) // 3])
    o = out()
    check_fail(fuse(real, [sim, tr], o, ok=False), "tr-ep")
    no_dataset(o)
    # empty episode (streams declared, no samples)
    emp = os.path.join(tmp, "empty")
    os.mkdir(emp)
    subprocess.run([MKREAL, "--id", "empty-000", "--empty", os.path.join(rigsim, sorted(os.listdir(rigsim))[0]),
                    os.path.join(emp, "empty-000")], check=True)
    o = out()
    check_fail(fuse([real, emp], sim, o, ok=False), "empty-000")
    no_dataset(o)
    # mismatched features: action stream missing in one source -> names both
    noact = os.path.join(tmp, "noact")
    os.mkdir(noact)
    subprocess.run([MKREAL, "--id", "noact-000", "--drop-action",
                    os.path.join(rigsim, sorted(os.listdir(rigsim))[0]), os.path.join(noact, "noact-000")],
                   check=True)
    o = out()
    p = fuse([real, noact], sim, o, ok=False)
    check_fail(p, "action", "absent", "noact-000", "rec-000")
    no_dataset(o)
    # --model whose joints are not the recorded ones: names both sides
    vx = os.path.join(os.environ["TW_SHARED"], "models", "trossen_vx300s", "vx300s.xml")
    if os.path.exists(vx):
        o = out()
        check_fail(fuse(real, sim, o, ["--model", vx], ok=False), "joint1", "vx300s.xml", "model joints")
        no_dataset(o)
    # a sim episode passed as real
    o = out()
    check_fail(fuse(sim, sim, o, ok=False), "domain")
    no_dataset(o)
    # no input at all, a folder without episodes
    o = out()
    check_fail(fuse(os.path.join(tmp, "corrupt", "bad-ep", "nothing"), sim, o, ok=False), "nothing")
    # bad flags
    check_fail(fuse(real, sim, out(), ok=False, split="0.5/0.5/0.5"), "split")
    check_fail(fuse(real, sim, out(), ok=False, ratio="1:x"), "1:x")
    # an output folder that already holds a dataset is refused, and left untouched
    good = out()
    fuse(real, sim, good)
    before = {f: open(os.path.join(good, f), "rb").read() for f in os.listdir(good)}
    check_fail(fuse(real, sim, good, ok=False), "already holds a dataset")
    assert before == {f: open(os.path.join(good, f), "rb").read() for f in os.listdir(good)}
    # a shard that cannot be written (its temporary name is taken by a folder): the run fails, the shards it
    # had finished are taken back, no manifest -- in one process and when only one of two MPI ranks fails
    for mpi in ([0, 2] if HAVE_MPI else [0]):
        o = out()
        os.makedirs(os.path.join(o, ".shard-00001.h5.tmp"))
        p = fuse(real, sim, o, ["--shard-size", "100"], ok=False, mpi=mpi)
        check_fail(p, "shard-00001")
        no_dataset(o)
    # an unreadable shard target (read-only folder) fails without a manifest
    if os.geteuid() != 0:
        ro = out()
        os.mkdir(ro, 0o555)
        fuse(real, sim, ro, ok=False)
        no_dataset(ro)


def mpi_ranks(mpirun_pid, exe):
    """{rank: pid} of the `tw` processes under mpirun (found through /proc: parent links, OMPI rank)."""
    procs = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            with open(f"/proc/{d}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        comm, rest = st[st.index("(") + 1:st.rindex(")")], st[st.rindex(")") + 2:].split()
        rank = [e.split(b"=", 1)[1] for e in env if e.startswith(b"OMPI_COMM_WORLD_RANK=")]
        procs.append((int(d), int(rest[1]), comm, int(rank[0]) if rank else None))
    ranks, front = {}, [mpirun_pid]
    while front:
        parent = front.pop()
        for pid, ppid, comm, rank in procs:
            if ppid == parent:
                front.append(pid)
                if comm == os.path.basename(exe)[:15] and rank is not None:
                    ranks[rank] = pid
    return ranks


def case_fuse_rank_dies(tmp):
    """Under `mpirun -np 2 tw fuse`, one rank is SIGKILLed while shards are being written: mpirun exits
    non-zero naming the dead rank, no manifest.json appears, and every shard-*.h5 left behind is complete
    (byte-identical to the same shard of an undisturbed run); a rerun into that folder is refused with a
    clear error (shards but no manifest: an interrupted run) until the leftovers are removed, and then it
    gives the undisturbed result."""
    import signal
    import time
    if not HAVE_MPI:
        print("SKIP: tw was built without MPI (or mpirun is missing): nothing to kill")
        sys.exit(77)
    sim = os.path.join(tmp, "sim")
    simgen(sim, 4, 21, jobs=2, duration="2")  # 4 x 1000 steps: ~4000 samples, 80 shards of 50
    args = ["--ratio", "0:1", "--split", "0.5/0.25/0.25", "--seed", "4", "--shard-size", "50", "--quiet"]
    ref = os.path.join(tmp, "ref")
    run(["fuse", "--sim", sim, "--out", ref] + args)
    ref_shards = sorted(glob.glob(os.path.join(ref, "shard-*.h5")))
    assert len(ref_shards) >= 40, len(ref_shards)
    for victim in (1, 0):
        out = os.path.join(tmp, f"killed{victim}")
        cmd = MPIRUN + ["2", TW, "fuse", "--sim", sim, "--out", out] + args
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # wait for pass 2 (the first shard, temporary or final), then freeze both ranks and kill one
            deadline = time.time() + 60
            while p.poll() is None and time.time() < deadline and not (
                    glob.glob(os.path.join(out, ".shard-*.tmp")) or glob.glob(os.path.join(out, "shard-*.h5"))):
                time.sleep(0.002)
            assert p.poll() is None, f"fuse ended ({p.returncode}) before a rank could be killed"
            ranks = mpi_ranks(p.pid, TW)
            assert sorted(ranks) == [0, 1], f"ranks under mpirun: {ranks}"
            for pid in ranks.values():
                os.kill(pid, signal.SIGSTOP)
            os.kill(ranks[victim], signal.SIGKILL)
            os.kill(ranks[1 - victim], signal.SIGCONT)
            _, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert p.returncode != 0, f"mpirun exited 0 after rank {victim} was killed:\n{err}"
        assert f"rank {victim}" in err and ("signal 9" in err or "killed" in err.lower()), err
        assert not os.path.exists(os.path.join(out, "manifest.json")), "manifest written after a rank died"
        left = sorted(glob.glob(os.path.join(out, "shard-*.h5")))
        assert len(left) < len(ref_shards), "every shard written although a rank died"
        print(f"rank {victim} killed: mpirun exit {p.returncode}, {len(left)} of {len(ref_shards)} shards left, "
              "all complete, no manifest")
        for f in left:  # complete, not half-written: opens, row count matches, same bytes as undisturbed
            with h5py.File(f, "r") as h:
                assert h.attrs["samples"] == len(h["state"]) == len(h["weight"]), f
            assert filecmp.cmp(f, os.path.join(ref, os.path.basename(f)), shallow=False), f"{f} differs"
        # a rerun into the folder is refused while shards of the interrupted run are there ...
        if left:
            p2 = fuse(None, sim, out, ok=False, ratio="0:1", split="0.5/0.25/0.25")
            check_fail(p2, "no manifest.json", "interrupted", "shard-")
        # ... and, once they are removed, gives exactly the undisturbed result (temporaries are overwritten)
        for f in left:
            os.remove(f)
        run(["fuse", "--sim", sim, "--out", out] + args)
        assert sorted(n for n in os.listdir(ref)) == sorted(n for n in os.listdir(out) if not n.startswith("."))
        for n in os.listdir(ref):
            assert filecmp.cmp(os.path.join(ref, n), os.path.join(out, n), shallow=False), n


def same_dataset(a, b, what):
    names = sorted(os.listdir(a))
    assert names == sorted(os.listdir(b)), (what, names, sorted(os.listdir(b)))
    for n in names:
        assert filecmp.cmp(os.path.join(a, n), os.path.join(b, n), shallow=False), f"{n} differs ({what})"


def case_fuse_jobs(tmp):
    """`tw fuse --jobs J`: J local worker processes as ranks give the bytes of one process (shards and
    manifest), with windows and --model too; one rank's failure fails the run once, cleanly."""
    real, sim, _ = make_corpus(tmp, nreal=3, nsim=5)
    for extra in (["--shard-size", "150"], ["--window", "3", "--model", MODEL, "--shard-size", "300"]):
        ref = os.path.join(tmp, "j1")
        fuse(real, sim, ref, extra + ["--jobs", "1"])
        assert len(glob.glob(os.path.join(ref, "shard-*.h5"))) >= 4
        for jobs in ("2", "3", None):  # None: the default (the online cores)
            out = os.path.join(tmp, f"j{jobs}")
            fuse(real, sim, out, extra + (["--jobs", jobs] if jobs else []))
            same_dataset(ref, out, f"--jobs {jobs} {' '.join(extra)}")
            shutil.rmtree(out)
        shutil.rmtree(ref)
    # progress: rank 0's voice only
    p = run(["fuse", "--sim", sim, "--ratio", "0:1", "--shard-size", "150", "--out", os.path.join(tmp, "pr"),
             "--jobs", "2"])
    assert "fuse[rank 0]" in p.stderr and "fuse[rank 1]" not in p.stderr, p.stderr
    # a shard only rank 1 writes cannot be written: the run fails with rank 1's own error, printed once,
    # and every shard the other rank finished is taken back
    o = os.path.join(tmp, "blocked")
    os.makedirs(os.path.join(o, ".shard-00001.h5.tmp"))
    p = fuse(real, sim, o, ["--shard-size", "100", "--jobs", "2"], ok=False)
    check_fail(p, "shard-00001")
    assert "another rank" not in p.stderr, p.stderr
    no_dataset(o)
    assert os.path.isdir(os.path.join(o, ".shard-00001.h5.tmp")), "a folder that was there was removed"
    # an error every rank meets (a corrupt episode at scan) is reported once, not once per rank
    bad = os.path.join(tmp, "corrupt", "bad-ep")
    os.makedirs(bad)
    write(os.path.join(bad, "episode.h5"), "this is not HDF5" * 100)
    o = os.path.join(tmp, "corrupt-out")
    p = fuse([real, bad], sim, o, ["--jobs", "3"], ok=False)
    assert len([l for l in p.stderr.splitlines() if "bad-ep" in l]) == 1, p.stderr
    no_dataset(o)
    check_fail(fuse(real, sim, os.path.join(tmp, "j0"), ["--jobs", "0"], ok=False), "bad value '0'")
    if HAVE_MPI:  # mpirun's ranks and --jobs do not mix
        p = fuse(real, sim, os.path.join(tmp, "mj"), ["--jobs", "2"], ok=False, mpi=2)
        check_fail(p, "--jobs 2 under mpirun")


def children(pid):
    """Pids whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        if int(st[st.rindex(")") + 2:].split()[1]) == pid:
            out.append(int(d))
    return sorted(out)


def gone(pids, timeout=10):
    import time
    deadline = time.time() + timeout
    while time.time() < deadline:
        alive = [q for q in pids if os.path.exists(f"/proc/{q}") and
                 open(f"/proc/{q}/stat").read().split(") ")[1][0] != "Z"]
        if not alive:
            return True
        time.sleep(0.05)
    return False


def case_fuse_worker_dies(tmp):
    """`tw fuse --jobs 2`: a worker SIGKILLed while shards are being written makes the command fail at
    once with a message naming the rank, its pid and signal 9; the other worker is ended, no manifest and
    no shard is left, and a rerun into the folder gives the undisturbed result. Killing the supervisor
    takes its workers with it."""
    import signal
    import time
    sim = os.path.join(tmp, "sim")
    simgen(sim, 4, 21, jobs=2, duration="2")  # ~4000 samples, 80 shards of 50
    args = ["--sim", sim, "--ratio", "0:1", "--split", "0.5/0.25/0.25", "--seed", "4", "--shard-size", "50",
            "--quiet", "--jobs", "2"]
    ref = os.path.join(tmp, "ref")
    run(["fuse", "--out", ref] + args)
    for victim in (1, 0, "supervisor"):
        out = os.path.join(tmp, f"killed-{victim}")
        p = subprocess.Popen([TW, "fuse", "--out", out] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            deadline = time.time() + 60
            while p.poll() is None and time.time() < deadline and not (
                    glob.glob(os.path.join(out, ".shard-*.tmp")) or glob.glob(os.path.join(out, "shard-*.h5"))):
                time.sleep(0.002)
            workers = children(p.pid)
            assert p.poll() is None and len(workers) == 2, f"fuse ended ({p.returncode}) or workers {workers}"
            for pid in workers:  # freeze both, so the kill lands mid-pass-2 whatever the timing
                os.kill(pid, signal.SIGSTOP)
            if victim == "supervisor":
                os.kill(p.pid, signal.SIGKILL)
            else:  # forked in rank order
                os.kill(workers[victim], signal.SIGKILL)
            for pid in workers:
                if victim == "supervisor" or pid != workers[victim]:
                    os.kill(pid, signal.SIGCONT)
            _, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert gone(workers), f"workers {workers} outlived the run"
        if victim == "supervisor":
            assert not os.path.exists(os.path.join(out, "manifest.json"))
            continue
        assert p.returncode == 1, f"exit {p.returncode} after worker {victim} was killed:\n{err}"
        assert f"rank {victim} (pid {workers[victim]})" in err and "signal 9" in err, err
        no_dataset(out)
        run(["fuse", "--out", out] + args)
        assert sorted(os.listdir(ref)) == sorted(n for n in os.listdir(out) if not n.startswith("."))
        for n in os.listdir(ref):
            assert filecmp.cmp(os.path.join(ref, n), os.path.join(out, n), shallow=False), n
        print(f"worker {victim} killed: exit {p.returncode}: {err.strip()}")


def free_port():
    import socket
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def case_fuse_recorded(tmp):
    """Real episodes exactly as the recorder writes them (tw rig -> tw record), fused with a sim corpus."""
    import signal
    import time
    rec, tok = os.path.join(tmp, "rec"), os.path.join(tmp, "tok")
    os.mkdir(rec)
    write(tok, "fusion-test-token\n")
    port = free_port()
    srv = subprocess.Popen([TW, "record", "--listen", f"127.0.0.1:{port}", "--out", rec, "--token-file", tok,
                            "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        run(["rig", "--url", f"ws://127.0.0.1:{port}", "--token-file", tok, "--model", MODEL, "--episodes", "3",
             "--duration", "1.5", "--seed", "5", "--speed", "0", "--perturb", "damping=2", "--noise", "1",
             "--truth", os.path.join(tmp, "truth.json")])
    finally:
        srv.send_signal(signal.SIGINT)
        srv.wait(timeout=30)
    eps = sorted(os.listdir(rec))
    assert len([e for e in eps if not e.startswith(".")]) == 3, eps
    spec = os.path.join(tmp, "spec.json")
    write(spec, json.dumps({"damping": [0.5, 3.0], "noise": [0, 2]}))
    sim = os.path.join(tmp, "sim")
    simgen(sim, 4, 9, spec, jobs=2, duration="1.5")
    out = os.path.join(tmp, "fused")
    fuse(rec, sim, out, ["--window", "2", "--model", MODEL], split="0.34/0.33/0.33")
    ds, data = check_dataset(out, (1, 4))
    m = ds.manifest
    real = [e for e in m["episodes"] if e["domain"] == "real"]
    assert len(real) == 3 and all(e["sim_params"] is None for e in real)
    # recorded and simulated episodes land on the same timeline: 1.5 s at 500 Hz
    assert all(abs(e["steps"] - 750) <= 1 for e in m["episodes"]), [(e["id"], e["steps"]) for e in m["episodes"]]


CASES = {"simgen_determinism": case_simgen_determinism, "fuse_end_to_end": case_fuse_end_to_end,
         "fuse_bad_inputs": case_fuse_bad_inputs, "fuse_recorded": case_fuse_recorded,
         "fuse_rank_dies": case_fuse_rank_dies, "fuse_jobs": case_fuse_jobs,
         "fuse_worker_dies": case_fuse_worker_dies}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(CASES)}}}")
    if not os.path.exists(MODEL):
        print(f"SKIP: no robot model at {MODEL}")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="tw-fusion-")
    try:
        CASES[sys.argv[1]](tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{sys.argv[1]}: ok")
