"""tw replay through the real binary: outputs, aligned.h5 read by an independent reader (h5py)
against schemas/aligned.md, summary.json fields, and bad input (exit codes and messages).
argv: SYNTH_EXE; env TW_BIN."""
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

synth, tw = sys.argv[1], os.environ["TW_BIN"]
fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL:", what)


def run(*args):
    return subprocess.run([tw, "replay", *args], capture_output=True, text=True, timeout=300)


with tempfile.TemporaryDirectory() as tmp:
    ep = os.path.join(tmp, "ep")
    subprocess.run([synth, ep, "--perturb", "damping=2", "--duration", "3", "--clock-offset-ms", "250"],
                   check=True)
    out = os.path.join(tmp, "out")
    r = run(ep, "--model", "builtin", "--qacc", "discrete", "--threads", "2", "--out", out)
    check(r.returncode == 0, "replay exit 0: " + r.stderr)
    check("%" in r.stderr, "progress on stderr")
    for f in ("aligned.h5", "summary.json", "report.html"):
        check(os.path.exists(os.path.join(out, f)), f + " written")
    s = json.load(open(os.path.join(out, "summary.json")))
    for k in ("joints", "torque_residual_rmse", "torque_residual_bias", "wrench_residual_rmse", "divergence",
              "clock_offset_ms", "video_sync_offset_frames", "steps", "gaps", "streams"):
        check(k in s, "summary has " + k)
    nj = len(s["joints"])
    check(len(s["torque_residual_rmse"]) == nj and len(s["torque_residual_bias"]) == nj, "per-joint arrays")
    check(len(s["wrench_residual_rmse"]) == 6, "6 wrench values")
    check(set(s["divergence"]) == {"0.1", "0.5", "1", "2", "episode"}, "divergence horizons")
    check(abs(s["clock_offset_ms"] - 250) < 2, "clock offset 250 ms estimated")
    check(s["video_sync_offset_frames"] is None and "no_video" in s["flags"], "no video: null + flag")
    check(all(b > 0 for b in s["torque_residual_vs_qvel"][:7]), "damping x2: residual rises with qvel")
    st = {x["name"]: x for x in s["streams"]}
    check(abs(st["joint_state"]["coverage"] - 1) < 1e-9 and st["joint_state"]["jitter_ms"] < 1e-3,
          "joint stream: full coverage, no jitter")
    check(abs(st["joint_state"]["latency_mean_ms"] - 1) < 0.01, "latency 1 ms after the offset correction")

    with h5py.File(os.path.join(out, "aligned.h5"), "r") as h:
        check(h.attrs["format"] == b"teleworld.aligned" or h.attrs["format"] == "teleworld.aligned", "format attr")
        check(int(h.attrs["format_major"]) == 1, "format_major")
        n = s["steps"]
        for d, cols in (("qpos", nj), ("qvel", nj), ("qacc", nj), ("effort", nj), ("tau_inverse", nj),
                        ("torque_residual", nj), ("wrench", 6), ("wrench_model", 6), ("wrench_residual", 6),
                        ("ee_pose", 7)):
            check(h[d].shape == (n, cols), "%s shape %s" % (d, h[d].shape))
        for d in ("t_ns", "contacts", "quality"):
            check(h[d].shape == (n,), d + " shape")
        res = h["effort"][:] - h["tau_inverse"][:]
        check(np.allclose(res, h["torque_residual"][:]), "residual = effort - tau_inverse")
        ok = h["quality"][:] & 0x0F == 0
        rmse = np.sqrt(np.mean(h["torque_residual"][:][ok] ** 2, axis=0))
        check(np.allclose(rmse, s["torque_residual_rmse"], rtol=1e-9, atol=1e-12), "summary RMSE = h5 recompute")
        dt = np.diff(h["t_ns"][:])
        check(np.all(np.abs(dt - 2000000) <= 1), "uniform 500 Hz timeline")
        check(abs(int(h["t_ns"][0])) < 2000000, "timeline on the recorder clock")
        check(json.loads(h.attrs["summary_json"])["steps"] == n, "summary_json attribute")

    html = open(os.path.join(out, "report.html")).read()
    check(html.count("<svg") >= 2 * nj + 2, "report has per-joint and divergence SVG plots")

    # bad input
    bad = os.path.join(tmp, "bad")
    subprocess.run([synth, bad, "--rename-joint", "2", "--duration", "0.5"], check=True)
    r = run(bad, "--model", "builtin", "--out", os.path.join(tmp, "o2"))
    check(r.returncode == 1, "unknown joint: exit 1")
    check("bogus_joint" in r.stderr and "recorded: [" in r.stderr and "model: [" in r.stderr,
          "unknown joint: both sides listed: " + r.stderr)
    check(not os.path.exists(os.path.join(tmp, "o2", "aligned.h5")), "no aligned.h5 after an error")
    mp = os.path.join(tmp, "map.json")
    names = s["joints"]
    json.dump({"bogus_joint": names[2]}, open(mp, "w"))
    r = run(bad, "--model", "builtin", "--map", mp, "--out", os.path.join(tmp, "o3"))
    check(r.returncode == 0, "--map fixes the name: " + r.stderr)
    r = run(os.path.join(tmp, "nope"), "--model", "builtin", "--out", os.path.join(tmp, "o4"))
    check(r.returncode == 1 and "nope" in r.stderr, "missing episode: exit 1 naming it")
    r = run(ep, "--out", os.path.join(tmp, "o5"), "--rate", "-3")
    check(r.returncode == 2, "bad --rate: usage error")
    r = run(ep)
    check(r.returncode == 2, "no --out: usage error")
    r = run("--help")
    check(r.returncode == 0 and "--map" in r.stdout, "--help")


def wait_port(port, secs=20):
    import socket
    import time
    end = time.time() + secs
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def free_port():
    import socket
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


# End to end through the real binaries: tw record + tw rig (--perturb none --noise 0) -> tw replay.
with tempfile.TemporaryDirectory() as tmp:
    tok = os.path.join(tmp, "token")
    with open(tok, "w") as f:
        f.write("replay-test-token-0123456789\n")
    os.chmod(tok, 0o600)
    port = free_port()
    rec = subprocess.Popen([tw, "record", "--listen", "127.0.0.1:%d" % port, "--out", os.path.join(tmp, "rec"),
                            "--token-file", tok, "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        import time
        check(wait_port(port), "recorder listening")
        for pert, dur in (("none", "12"), ("damping=2", "3")):
            r = subprocess.run([tw, "rig", "--url", "ws://127.0.0.1:%d" % port, "--token-file", tok, "--duration", dur,
                                "--speed", "0", "--perturb", pert, "--noise", "0", "--seed", "5",
                                "--truth", os.path.join(tmp, "truth.json")], capture_output=True, text=True, timeout=120)
            check(r.returncode == 0, "rig %s: %s" % (pert, r.stderr[-500:]))
            time.sleep(0.5)
    finally:
        rec.send_signal(2)
        rec.wait(timeout=30)
    eps = sorted(os.listdir(os.path.join(tmp, "rec")))
    eps = [e for e in eps if os.path.isdir(os.path.join(tmp, "rec", e))]
    check(len(eps) == 2, "two recorded episodes: %s" % eps)
    res = []
    for e in eps[:2]:
        out = os.path.join(tmp, "out_" + e)
        r = run(os.path.join(tmp, "rec", e), "--model", "builtin", "--out", out, "--quiet")  # --qacc auto
        check(r.returncode == 0, "replay of a recorded episode: " + r.stderr)
        res.append(json.load(open(os.path.join(out, "summary.json"))) if r.returncode == 0 else None)
    if len(res) == 2 and all(res):
        a, b = res
        # nominal rig, 12 s of pick and place (grasp: up to 11 contacts): rounding level except a few
        # contact steps where MuJoCo's forward solver stops at its tolerance: 1e-3 N*m on ~20 N*m
        check(max(a["torque_residual_rmse"]) < 1e-3, "recorded nominal rig: torque residual ~0: %s" % a["torque_residual_rmse"])
        check(max(a["wrench_residual_rmse"]) < 1e-3, "recorded nominal rig: wrench residual ~0")
        check(a["divergence"]["episode"] < 1e-9, "recorded nominal rig: no divergence")
        check(a["clock"]["method"] == "min_rtt", "no spurious drift from ping noise: %s" % a["clock"])
        check(a["qacc_method"] == "discrete", "auto: a simulation sampled every physics step -> discrete")
        check(a["video_sync_offset_frames"] == 0, "video index points at the right frames: %s" % a["video"])
        check(a["video"][0]["checked"] >= 60, "video frames checked")
        # damping x2: residual grows with qvel on every arm joint; divergence appears
        check(all(x > 0 for x in b["torque_residual_vs_qvel"][:7]), "damping x2: positive slope on every arm joint")
        check(b["divergence"]["1"] > 1e3 * max(a["divergence"]["1"], 1e-12), "damping x2: divergence appears")

# A recorder killed mid-episode (kill -9), then `tw recover`: the replay is a flagged partial result.
with tempfile.TemporaryDirectory() as tmp:
    import signal
    import time
    tok = os.path.join(tmp, "token")
    with open(tok, "w") as f:
        f.write("replay-test-token-0123456789\n")
    os.chmod(tok, 0o600)
    port = free_port()
    recdir = os.path.join(tmp, "rec")
    rec = subprocess.Popen([tw, "record", "--listen", "127.0.0.1:%d" % port, "--out", recdir, "--token-file", tok,
                            "--quiet", "--flush-ms", "200"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    check(wait_port(port), "recorder listening")
    rig = subprocess.Popen([tw, "rig", "--url", "ws://127.0.0.1:%d" % port, "--token-file", tok, "--duration", "20",
                            "--speed", "1", "--perturb", "none", "--noise", "0"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30  # wait for the episode to exist, then let it record ~2 s
    while time.time() < deadline and not (os.path.isdir(recdir) and
                                          any(os.path.isdir(os.path.join(recdir, e)) for e in os.listdir(recdir))):
        time.sleep(0.1)
    time.sleep(2)
    rec.send_signal(signal.SIGKILL)
    rec.wait()
    rig.kill()  # its retries would only wait for a recorder that is gone
    rig.wait()
    r = subprocess.run([tw, "recover", recdir], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "tw recover: " + r.stderr)
    eps = [e for e in os.listdir(recdir) if os.path.isdir(os.path.join(recdir, e))]
    check(len(eps) == 1, "one interrupted episode: %s" % os.listdir(recdir))
    if eps:
        out = os.path.join(tmp, "out")
        r = run(os.path.join(recdir, eps[0]), "--model", "builtin", "--out", out, "--quiet")
        check(r.returncode == 0, "replay of a recovered episode: " + r.stderr)
        if r.returncode == 0:
            s = json.load(open(os.path.join(out, "summary.json")))
            check(s["partial"] and "partial" in s["flags"] and s["episode_status"] == "interrupted",
                  "recovered episode flagged partial: %s %s" % (s["episode_status"], s["flags"]))
            check(0.1 < s["duration_s"] < 4, "what was flushed is replayed: %.2f s" % s["duration_s"])
    # a corrupt episode file: a clear error, no crash
    bad = os.path.join(tmp, "corrupt")
    os.mkdir(bad)
    with open(os.path.join(bad, "episode.h5"), "wb") as f:
        f.write(b"\x89HDF\r\n\x1a\n" + os.urandom(4000))
    r = run(bad, "--model", "builtin", "--out", os.path.join(tmp, "o6"))
    check(r.returncode == 1 and "corrupt" in r.stderr and len(r.stderr) < 2000, "corrupt episode: exit 1, one message: " + r.stderr)

print("failures:", len(fails))
sys.exit(1 if fails else 0)
