#!/usr/bin/env python3
"""Integration tests for `tw wm` and `tw gap` (issues 7, 16) on episodes recorded from the virtual rig.

Run: test_wm.py CASE with CASE one of the keys of CASES. Env: TW_BIN."""
import filecmp
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rigrec  # noqa: E402

TW = rigrec.TW
SPEC = {"damping": [0.5, 2.0], "payload_kg": [0.0, 0.5]}


def run(args, ok=True):
    p = subprocess.run([TW] + args, capture_output=True, text=True, timeout=600)
    if ok and p.returncode != 0:
        raise AssertionError(f"tw {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    if not ok and p.returncode == 0:
        raise AssertionError(f"tw {' '.join(args)} should have failed:\n{p.stdout}")
    return p


def baseline_rmse(fused, domain):
    """Per group, the one-step RMSE of the physics-free baseline (schemas/model.md, Evaluation) on the
    test split, computed here from the shards (schemas/fused.md) independently of tw."""
    import h5py
    import numpy as np
    man = json.load(open(os.path.join(fused, "manifest.json")))
    rows = {"state": [], "next_state": []}
    for sh in sorted(os.listdir(fused)):
        if sh.endswith(".h5"):
            with h5py.File(os.path.join(fused, sh), "r") as f:
                keep = (f["split"][:] == 2) & (f["domain"][:] == domain)
                for k in rows:
                    rows[k].append(f[k][:][keep].astype(np.float64))
    s, n = (np.concatenate(rows[k]) for k in ("state", "next_state"))
    cols = {}
    for feat in man["features"]["state"]:
        cols.setdefault(feat["group"], []).extend(range(feat["offset"], feat["offset"] + feat["dim"]))
    pred = s.copy()
    pos, vel = cols.get("joint_pos", []), cols.get("joint_vel", [])
    if len(pos) == len(vel):  # positions at constant velocity, the rest held
        pred[:, pos] += s[:, vel] / man["rate_hz"]
    return {g: float(np.sqrt(((pred[:, c] - n[:, c]) ** 2).mean())) for g, c in cols.items()}


def case_train_eval(tmp):
    rec = rigrec.record(tmp, episodes=4, duration=2, seed=3, perturb="damping=1.5")
    spec = os.path.join(tmp, "spec.json")
    json.dump(SPEC, open(spec, "w"))
    sim = os.path.join(tmp, "sim")
    run(["simgen", "--model", "builtin", "--episodes", "4", "--duration", "2", "--randomize", spec, "--seed", "2",
         "--out", sim, "--quiet"])
    fused = os.path.join(tmp, "fused")
    run(["fuse", "--real", rec, "--sim", sim, "--ratio", "1:2", "--split", "0.5/0.25/0.25", "--seed", "1",
         "--model", "builtin", "--out", fused])
    common = ["--data", fused, "--epochs", "3", "--epoch-samples", "3000", "--quiet"]
    run(["wm", "train", "--out", os.path.join(tmp, "m1"), "--seed", "5"] + common)
    run(["wm", "train", "--out", os.path.join(tmp, "m2"), "--seed", "5"] + common)
    run(["wm", "train", "--out", os.path.join(tmp, "m3"), "--seed", "6"] + common)
    w = lambda m: os.path.join(tmp, m, "weights.f32")
    assert filecmp.cmp(w("m1"), w("m2"), shallow=False), "same seed must give the same weights"
    assert not filecmp.cmp(w("m1"), w("m3"), shallow=False), "another seed must give other weights"
    meta = json.load(open(os.path.join(tmp, "m1", "model.json")))
    assert meta["format"] == "teleworld.wm" and meta["version"].startswith("1.")
    assert os.path.getsize(w("m1")) == 4 * meta["nparams"]

    ev = json.loads(run(["wm", "eval", "--model", os.path.join(tmp, "m1"), "--data", fused, "--json"]).stdout)
    ev2 = json.loads(run(["wm", "eval", "--model", os.path.join(tmp, "m2"), "--data", fused, "--json"]).stdout)
    assert ev == ev2, "same model and data must give the same numbers"
    for dom in ("real", "sim"):
        d = ev[dom]
        assert d["samples"] > 0, f"no {dom} test samples"
        for g in ("joint_pos", "joint_vel", "ee"):
            v = d["one_step_rmse"][g]
            assert math.isfinite(v) and v >= 0, (dom, g, v)
        r = d["rollout_rmse"]
        # the model's own predictions fed back: error grows with the horizon
        assert r["0.5"]["joint_pos"] > r["0.01"]["joint_pos"], r
        # relative error = model RMSE / physics-free baseline RMSE on the same samples
        base = baseline_rmse(fused, 0 if dom == "real" else 1)
        for g in ("joint_pos", "joint_vel", "ee"):
            want = d["one_step_rmse"][g] / base[g]
            got = d["relative_rmse"]["one_step"][g]
            assert abs(got - want) <= 1e-4 * want, (dom, g, got, want)
            for h in ("0.01", "0.5"):
                assert math.isfinite(d["relative_rmse"][h][g]) and d["relative_rmse"][h][g] > 0, (dom, h, g)
    table = run(["wm", "eval", "--model", os.path.join(tmp, "m1"), "--data", fused]).stdout
    assert "real test:" in table and "joint_pos" in table and "(" in table

    # bad input: clear errors, non-zero exit
    p = run(["wm", "train", "--data", os.path.join(tmp, "nope"), "--out", os.path.join(tmp, "m4")], ok=False)
    assert "manifest.json" in p.stderr, p.stderr
    meta["version"] = "2.0"
    json.dump(meta, open(os.path.join(tmp, "m3", "model.json"), "w"))
    p = run(["wm", "eval", "--model", os.path.join(tmp, "m3"), "--data", fused], ok=False)
    assert "version 2.0" in p.stderr, p.stderr
    with open(w("m2"), "r+b") as f:
        f.truncate(100)
    p = run(["wm", "eval", "--model", os.path.join(tmp, "m2"), "--data", fused], ok=False)
    assert "weights.f32" in p.stderr, p.stderr


SMALL = ["--sim-episodes", "8", "--sim-duration", "3", "--epochs", "6", "--epoch-samples", "6000"]
# Enough sim data and training for the model to learn accelerations, not only kinematics.
LEARNS_DYNAMICS = ["--sim-episodes", "32", "--sim-duration", "5", "--epochs", "30", "--epoch-samples", "30000"]


def gap(tmp, name, rec, extra=(), size=SMALL):
    spec = os.path.join(tmp, "spec.json")
    json.dump(SPEC, open(spec, "w"))
    out = os.path.join(tmp, name)
    run(["gap", "--real", rec, "--randomize", spec, "--model", "builtin", "--out", out, "--ratios", "0,4,inf",
         "--seed", "4", "--budgets", "1", "--split", "0.4/0.2/0.4", "--min-test-episodes", "2", "--quiet"] + size
        + list(extra))
    g = json.load(open(os.path.join(out, "gap.json")))
    assert os.path.getsize(os.path.join(out, "gap.html")) > 1000
    return g


def case_gap_ratio(tmp):
    os.makedirs(os.path.join(tmp, "in"))
    inside = rigrec.record(os.path.join(tmp, "in"), episodes=6, duration=3, seed=11, perturb="damping=1.5,payload_kg=0.2", noise=0)
    g = gap(tmp, "gap_in", inside)
    e = g["real_test_error"]
    assert e["4"] < e["0"], f"sim data inside the randomisation range should help: {e}"
    phys = g["physics_gap"]
    assert phys["episodes"] >= 1 and len(phys["torque_residual_rmse"]) == len(phys["joints"])
    # the scale-free dynamics error (schemas/gap.md): per ratio, and the same number in each run
    dyn = g["dynamics_error"]
    assert set(dyn) == set(e) and all(math.isfinite(v) and v > 0 for v in dyn.values()), dyn
    runs = {r["ratio"]: r for r in g["runs"]}
    assert dyn["inf"] == runs["sim_only"]["dynamics_error"]
    assert dyn["inf"] == runs["sim_only"]["real_test"]["relative_rmse"]["one_step"]["joint_vel"]
    sim_rel = runs["sim_only"]["sim_test"]["relative_rmse"]["one_step"]["joint_vel"]
    assert abs(g["dynamics_transfer_gap"] - dyn["inf"] / sim_rel) <= 1e-5 * g["dynamics_transfer_gap"], g
    print("inside the range:", e, "dynamics:", dyn, "dynamics transfer gap:", g["dynamics_transfer_gap"])

    # same recorded data, same seed: the same numbers
    again = gap(tmp, "gap_in2", inside)
    assert again["real_test_error"] == e and again["transfer_gap"] == g["transfer_gap"], (again, g)
    assert again["dynamics_error"] == dyn and again["dynamics_transfer_gap"] == g["dynamics_transfer_gap"]

    # --seeds 2: every run trained twice; the intervals cover seeds x test episodes, seed 0 is the same model
    two = gap(tmp, "gap_seeds", inside, extra=["--seeds", "2"])
    st1, st2 = g["statistics"], two["statistics"]
    assert st1["training_seeds"] == 1 and st2["training_seeds"] == 2, st2
    assert two["real_test_error"] == e, "seed 0 must be the same model as in a one-seed run"
    for run, v in st2["runs"].items():
        assert v["dynamics_error"]["n"] == 2 * st1["runs"][run]["dynamics_error"]["n"], (run, v)
        assert v["dynamics_error"]["lo"] <= v["dynamics_error"]["mean"] <= v["dynamics_error"]["hi"], (run, v)
    assert os.path.isdir(os.path.join(tmp, "gap_seeds", "fused-sim_only", "model-b1-seed1"))
    assert "seeds" in st2["method"] and "crossed" in st2["method"]



def case_gap_fit(tmp):
    """tw gap --fit on a rig at damping x2 (other parameters nominal, sensor noise on): the fitted
    damping scale lands within 10% of 2, and every fitted value carries an uncertainty."""
    rec = rigrec.record(tmp, episodes=2, duration=5, seed=21, perturb="damping=2", noise=1)
    spec = os.path.join(tmp, "spec.json")
    json.dump(SPEC, open(spec, "w"))
    out = os.path.join(tmp, "gap")
    run(["gap", "--real", rec, "--randomize", spec, "--model", "builtin", "--out", out, "--ratios", "0",
         "--split", "0.5/0/0.5", "--sim-episodes", "1", "--sim-duration", "1", "--epochs", "1",
         "--epoch-samples", "500", "--fit", "--min-test-episodes", "1", "--quiet"])
    g = json.load(open(os.path.join(out, "gap.json")))
    fit = g["fit"]
    print("fit:", {k: (v["value"], v["std"]) for k, v in fit.items()})
    assert set(fit) == {"damping", "friction", "payload_kg", "gain"}, fit
    assert abs(fit["damping"]["value"] - 2.0) < 0.2, fit["damping"]
    assert abs(fit["gain"]["value"] - 1.0) < 0.1, fit["gain"]
    assert fit["payload_kg"]["value"] < 0.1, fit["payload_kg"]
    for k, v in fit.items():
        assert v["std"] is None or v["std"] >= 0, (k, v)
    assert "System identification" in open(os.path.join(out, "gap.html")).read()


def case_gap_far(tmp):
    """The sim-to-real gap is visible when it is there: inside the randomisation range the sim-only
    world model's dynamics error on real episodes is close to its error on sim ones and mixing helps;
    far outside (actuators at 30 % gain, 6x damping, 40 ms latency) the sim-only model's dynamics are
    far worse on the real robot than on sim, and sim data does not help."""
    res = {}
    for name, perturb in (("inside", "damping=1.5,payload_kg=0.2"), ("far", "gain=0.3,damping=6,latency_ms=40")):
        os.makedirs(os.path.join(tmp, name))
        rec = rigrec.record(os.path.join(tmp, name), episodes=6, duration=3, seed=11, perturb=perturb, noise=0)
        res[name] = gap(tmp, "gap_" + name, rec, size=LEARNS_DYNAMICS)
        print(name, "dynamics error by ratio:", res[name]["dynamics_error"], "dynamics transfer gap:",
              res[name]["dynamics_transfer_gap"])
    inside, far = res["inside"], res["far"]
    assert inside["dynamics_error"]["4"] < inside["dynamics_error"]["0"], inside["dynamics_error"]
    assert inside["dynamics_transfer_gap"] < 3, inside["dynamics_transfer_gap"]
    assert far["dynamics_transfer_gap"] > 5, far["dynamics_transfer_gap"]
    assert far["dynamics_error"]["inf"] > far["dynamics_error"]["0"], far["dynamics_error"]


# Closed loop (issue 16). The rig's spec covers gain 0.7..1.2 and payload 0..0.6 kg.
CL_SPEC = {"damping": [0.5, 2.0], "payload_kg": [0.0, 0.6], "gain": [0.7, 1.2]}
CL_SIZE = ["--sim-episodes", "16", "--sim-duration", "4", "--epochs", "10", "--epoch-samples", "20000"]
TIMINGS = ("plan_ms", "evals_per_s", "train_samples_per_s")


def no_timings(j):
    """gap.json without wall-clock numbers (the only fields allowed to differ between equal runs)."""
    if isinstance(j, dict):
        return {k: no_timings(v) for k, v in j.items() if k not in TIMINGS}
    if isinstance(j, list):
        return [no_timings(v) for v in j]
    return j


def closed_gap(tmp, name, rec, truth, extra=(), size=CL_SIZE, ratios="0,4,inf", split="0.34/0.16/0.5"):
    spec = os.path.join(tmp, "cl_spec.json")
    json.dump(CL_SPEC, open(spec, "w"))
    out = os.path.join(tmp, name)
    run(["gap", "--real", rec, "--randomize", spec, "--model", "builtin", "--out", out, "--ratios", ratios,
         "--seed", "4", "--split", split, "--closed-loop", "--truth", truth, "--quiet"] + size + list(extra))
    return json.load(open(os.path.join(out, "gap.json"))), open(os.path.join(out, "gap.html")).read()


def verdicts(cl, task, against, metric):
    return {k: v[metric]["verdict"] for k, v in cl["tasks"][task].get(against, {}).items()}


def case_closed_in(tmp):
    """Inside the randomisation range, a large planted gap (gain 0.8, payload 0.5 kg), one real training
    episode: (1) a split with too few real test episodes is refused with the reason; (2) same seed, same
    numbers, closed-loop table included; (3) planning with a model that used sim data beats planning with
    the real-only model on success or tracking error with an interval excluding zero; (4) planning with
    the nominal physics is worse than with the physics tw gap --fit identified from the real episodes
    (the arm sags ~2 mm more than nominal under this gap): the report's verdict, and the same paired
    interval computed here from the per-episode numbers."""
    truth = os.path.join(tmp, "truth.json")
    rec = rigrec.record(tmp, episodes=6, duration=3, seed=11, perturb="gain=0.8,payload_kg=0.5", noise=1,
                        truth=truth)
    spec = os.path.join(tmp, "cl_spec.json")
    json.dump(CL_SPEC, open(spec, "w"))
    p = run(["gap", "--real", rec, "--randomize", spec, "--model", "builtin", "--out", os.path.join(tmp, "few"),
             "--split", "0.6/0.2/0.2", "--sim-episodes", "1", "--sim-duration", "1", "--quiet"], ok=False)
    assert "real test episode" in p.stderr and "at least 3" in p.stderr, p.stderr

    tiny = ["--sim-episodes", "4", "--sim-duration", "2", "--epochs", "2", "--epoch-samples", "2000",
            "--plan-episodes", "3", "--budgets", "1", "--strategies", "mix,finetune,residual"]
    a, _ = closed_gap(tmp, "det1", rec, truth, size=tiny, ratios="0,inf")
    b, _ = closed_gap(tmp, "det2", rec, truth, size=tiny, ratios="0,inf")
    assert no_timings(a) == no_timings(b), "same seed and data must give the same gap.json apart from timings"
    assert set(a["closed_loop"]["tasks"]) == {"reach", "touch"}
    assert set(a["closed_loop"]["tasks"]["touch"]["models"]) == {"nominal", "real_only", "sim_only", "finetune",
                                                                  "residual"}
    assert a["statistics"]["real_test_episodes"] >= 3

    g, html = closed_gap(tmp, "in", rec, truth, extra=["--budgets", "1", "--strategies", "mix,finetune", "--fit"])
    cl = g["closed_loop"]
    print("fit:", {k: (round(v["value"], 4), v.get("planted")) for k, v in g["fit"].items() if v["value"] is not None})
    assert abs(g["fit"]["gain"]["value"] - 0.8) < 0.05 and abs(g["fit"]["payload_kg"]["value"] - 0.5) < 0.1, g["fit"]
    for task in ("reach", "touch"):
        for label, m in cl["tasks"][task]["models"].items():
            print(task, label, {k: round(m[k]["mean"], 4) for k in ("success_rate", "final_error_m", "tracking_error_m")},
                  "plan ms %.2f" % m["plan_ms"])
        print(task, "vs real-only:", verdicts(cl, task, "vs_real_only", "success_rate"),
              verdicts(cl, task, "vs_real_only", "tracking_error_m"))
        print(task, "nominal vs fitted:", cl["tasks"][task].get("nominal_vs_fitted"))
    assert "Closed loop" in html and ("no significant difference" in html or "better" in html or "worse" in html)
    better = [(t, lab, met) for t in ("reach", "touch") for met in ("success_rate", "tracking_error_m")
              for lab, v in verdicts(cl, t, "vs_real_only", met).items() if lab != "real_only" and v == "better"]
    assert better, "no strategy using sim data beat real-only with an interval excluding zero"
    worse = []
    for task in ("reach", "touch"):
        models = cl["tasks"][task]["models"]
        for met in ("success_rate", "final_error_m", "tracking_error_m"):
            key = {"success_rate": "success"}.get(met, met)
            a, b = models["nominal"]["per_episode"][key], models["fitted"]["per_episode"][key]
            m, lo, hi = paired_ci(a, b)
            verdict = cl["tasks"][task]["nominal_vs_fitted"][met]["verdict"]
            print(task, met, "nominal - fitted: %.4f [%.4f, %.4f]" % (m, lo, hi), verdict)
            sig_worse = hi < 0 if met == "success_rate" else lo > 0
            if sig_worse:
                worse.append((task, met))
            if verdict == "worse":  # the report and the independent interval agree on the clear cases
                assert (hi < 0.02 if met == "success_rate" else lo > -1e-4), (task, met, m, lo, hi)
    assert worse, "planning with the nominal physics was not worse than with the fitted physics"
    assert any(cl["tasks"][t]["nominal_vs_fitted"][met]["verdict"] == "worse" for t, met in worse), worse
    assert "Nominal against fitted physics" in html


def paired_ci(a, b, seed=0, n=2000):
    """95 % percentile-bootstrap interval of mean(a - b), computed here independently of tw."""
    import numpy as np
    d = np.asarray(a, float) - np.asarray(b, float)
    rng = np.random.default_rng(seed)
    means = [d[rng.integers(0, len(d), len(d))].mean() for _ in range(n)]
    return d.mean(), np.percentile(means, 2.5), np.percentile(means, 97.5)


def case_plan_gap(tmp):
    """A large planted gap (gain 0.3, damping x6, 40 ms latency): planning with the nominal physics does
    measurably worse than planning with the physics at the planted values (what a perfect fit gives;
    case_gap_fit shows tw gap --fit recovering such values): on the same 20 touch episodes, success lower
    or final error higher, with a paired interval (computed here, independently of tw) excluding zero.
    (case_closed_in checks the smaller gain 0.8 + payload 0.5 kg gap against a real fit.)"""
    real = "gain=0.3,damping=6,latency_ms=40"
    res = {}
    for name, phys in (("nominal", "none"), ("planted", "gain=0.3,damping=6")):
        res[name] = json.loads(run(["wm", "plan", "--physics", phys, "--real", real, "--task", "touch",
                                    "--episodes", "20", "--seed", "4", "--json", "--quiet"]).stdout)["per_episode"]
    s = paired_ci(res["nominal"]["success"], res["planted"]["success"])
    f = paired_ci(res["nominal"]["final_error_m"], res["planted"]["final_error_m"])
    print("touch, nominal - planted physics: success %.3f [%.3f, %.3f], final error %.4f [%.4f, %.4f] m" % (s + f))
    assert s[2] < 0 or f[1] > 0, "planning with the nominal physics was not measurably worse at a large gap"


FAR_SIZE = ["--sim-episodes", "16", "--sim-duration", "4", "--epochs", "20", "--epoch-samples", "20000",
            "--plan-episodes", "40",  # 40: the power to see a 15-20 point difference in success
            "--seeds", "5"]  # every world model trained 5 times, each planning the same episodes


def crossed_ci(a, b, seed=0, n=2000):
    """95 % interval of mean(a - b) over a K x n grid (training seeds x episodes, paired by both), every
    resample drawing seeds and episodes (schemas/gap.md, Training seeds), computed here independently of tw."""
    import numpy as np
    d = np.asarray(a, float) - np.asarray(b, float)
    rng = np.random.default_rng(seed)
    K, m = d.shape
    means = [d[rng.integers(0, K, K)][:, rng.integers(0, m, m)].mean() for _ in range(n)]
    return d.mean(), np.percentile(means, 2.5), np.percentile(means, 97.5)


def case_closed_far(tmp):
    """Far outside the randomisation range (actuators at 40 % gain, the range's floor is 70 %; a 1 kg
    payload, the range's ceiling is 0.6 kg), with enough real data for the real-only world model to learn
    this robot (28 training episodes): planning with the sim-only world models fails measurably more often
    than with the real-only ones on some task (interval over training seeds x episodes excluding zero,
    recomputed here from the per-seed numbers), the report flags the transfer gap, and the open-loop
    dynamics error shows the same gap (sim-only worse than real-only, paired by seed and test episode).
    The task must be feasible for this robot: planning with its own physics succeeds (a 2 kg payload at
    30 % gain leaves the servos too little authority within --max-step, and every model fails).

    Five training seeds per model, because one trained network's luck decides a single run (on the same
    data, real-only reach success 0.42-0.93 and sim-only 0.05-0.82 across seeds), and fixed episode ids
    (SOURCE_DATE_EPOCH), so the split is the same every run (the numbers move a little: the recorder's
    clock-offset estimate, which aligns the fused timeline, differs between recordings). Over other splits the
    verdict held in 8 of 9 runs with five seeds, 10 of 12 with three, 3 of 4 with one (schemas/gap.md,
    "How robust that is"). On touch sim-only is sometimes *better*: no assertion there."""
    truth = os.path.join(tmp, "truth.json")
    rec = rigrec.record(tmp, episodes=40, duration=4, seed=11, perturb="gain=0.4,payload_kg=1", noise=1, truth=truth,
                        ids_at=1767225600)  # the same ids, so the same split, every run
    g, html = closed_gap(tmp, "far", rec, truth, ratios="0,inf", split="0.7/0.1/0.2", size=FAR_SIZE)
    cl = g["closed_loop"]
    fails_more = []
    for task in ("reach", "touch"):
        models = cl["tasks"][task]["models"]
        print(task, {k: (round(v["success_rate"]["mean"], 2), round(1000 * v["final_error_m"]["mean"], 1))
                     for k, v in models.items()}, verdicts(cl, task, "vs_real_only", "success_rate"))
        sim, real = (models[k]["per_seed"] for k in ("sim_only", "real_only"))
        assert len(sim) == 5 and len(real) == 5 and models["nominal"].get("seeds") is None
        for k in ("sim_only", "real_only"):  # per_episode: the mean over the seeds
            per = [sum(p["success"][e] for p in models[k]["per_seed"]) / 5 for e in range(40)]
            assert all(abs(a - b) < 1e-9 for a, b in zip(per, models[k]["per_episode"]["success"])), k
        m, lo, hi = crossed_ci([p["success"] for p in sim], [p["success"] for p in real])
        print("  sim-only - real-only success: %.2f [%.2f, %.2f]" % (m, lo, hi))
        if hi < 0 and verdicts(cl, task, "vs_real_only", "success_rate")["sim_only"] == "worse":
            fails_more.append(task)
    assert fails_more, "planning with the sim-only models did not fail measurably more often than with the real-only ones"
    assert cl["transfer_gap_flag"] is True and set(fails_more) <= set(cl["transfer_gap_tasks"]), cl["transfer_gap_tasks"]
    assert "Transfer gap:" in html and "training seeds" in html
    d = g["statistics"]["vs_real_only"]["sim_only"]["dynamics_error"]  # paired by seed and test episode
    print("open loop, sim-only - real-only dynamics error:", d)
    assert d["verdict"] == "worse" and d["lo"] > 0, d


CASES = {"train_eval": case_train_eval, "gap_ratio": case_gap_ratio, "gap_fit": case_gap_fit,
         "gap_far": case_gap_far, "closed_in": case_closed_in, "plan_gap": case_plan_gap,
         "closed_far": case_closed_far}

if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="tw-wm-") as tmp:
        CASES[sys.argv[1]](tmp)
    print("ok")
