"""tw sysid as a user runs it, on the real Franka Panda log (../shared/realdata, written into an episode
by tw_panda_episode): the three outputs, fitted.xml replayed by tw replay to the number sysid.json
reports, the same numbers for the same seed, clear errors on bad input and no output left behind; and on a
synthetic rig episode with actions (tw_synth_episode: damping x1.5, gain 0.8, sensor noise), the
per-joint damping and the actuators' gain."""
import json
import os
import subprocess
import sys
import tempfile

TW = os.environ["TW_BIN"]
SHARED = os.environ.get("TW_SHARED", "../shared")
CSV = os.path.join(SHARED, "realdata", "franka_panda_gaz2019_traj1.csv")
MODEL = os.path.join(SHARED, "models", "franka_emika_panda", "panda_nohand.xml")


def tw(*args, expect=0):
    p = subprocess.run([TW, *args], capture_output=True, text=True)
    assert p.returncode == expect, (args, p.returncode, p.stdout, p.stderr)
    return p


def without_timing(j):
    j = dict(j)
    j.pop("timing")
    return j


def main():
    mkep = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        ep = os.path.join(tmp, "panda")
        subprocess.run([mkep, CSV, ep], check=True)
        out = os.path.join(tmp, "sysid")
        p = tw("sysid", ep, "--model", MODEL, "--out", out, "--quiet")
        print(p.stdout)
        for f in ("sysid.json", "fitted.xml", "sysid.html"):
            assert os.path.getsize(os.path.join(out, f)) > 0, f
        assert not [f for f in os.listdir(out) if f.endswith(".tmp")]
        j = json.load(open(os.path.join(out, "sysid.json")))
        assert j["format"] == "teleworld.sysid" and len(j["joints"]) == 7
        rel = j["relative_rmse"]
        assert rel["held_back"]["fitted_xml"] < 0.8 * rel["held_back"]["nominal"], rel
        for jt in j["joints"]:
            for name, prm in jt["params"].items():
                assert prm["identified"] is (prm["value"] is not None), (jt["name"], name, prm)
                if name != "effort_offset" and prm["value"] is not None:
                    assert prm["value"] >= 0, (jt["name"], name, prm)  # physical bounds
        html = open(os.path.join(out, "sysid.html")).read()
        assert "<svg" in html and "frictionloss" in html
        # tw replay against fitted.xml shows the number sysid.json reports
        rep = os.path.join(tmp, "replay")
        tw("replay", ep, "--model", os.path.join(out, "fitted.xml"), "--out", rep, "--quiet")
        s = json.load(open(os.path.join(rep, "summary.json")))
        print("replay of fitted.xml:", s["torque_residual_rel_all"], "sysid.json:", rel["all"]["fitted_xml"])
        assert abs(s["torque_residual_rel_all"] - rel["all"]["fitted_xml"]) < 1e-6 * rel["all"]["fitted_xml"]
        assert s["effort_offset_applied"] is True
        # same data and seed, same numbers
        out2 = os.path.join(tmp, "sysid2")
        tw("sysid", ep, "--model", MODEL, "--out", out2, "--quiet")
        assert without_timing(json.load(open(os.path.join(out2, "sysid.json")))) == without_timing(j)
        # bad input: named, non-zero, nothing that looks complete
        bad = os.path.join(tmp, "bad")
        p = tw("sysid", os.path.join(tmp, "missing"), "--model", MODEL, "--out", bad, expect=1)
        assert "missing" in p.stderr, p.stderr
        assert not os.path.exists(os.path.join(bad, "sysid.json"))
        p = tw("sysid", ep, "--model", MODEL, "--out", bad, "--validate", "2", expect=2)
        assert "--validate" in p.stderr
        p = tw("sysid", ep, "--model", os.path.join(tmp, "nope.xml"), "--out", bad, expect=1)
        assert "nope.xml" in p.stderr, p.stderr
        # a rig episode with an action stream: per-joint damping and the actuators' gain
        rig = os.path.join(tmp, "rig")
        subprocess.run([sys.argv[2], rig, "--perturb", "damping=1.5,gain=0.8,noise=1", "--duration", "3.5",
                        "--seed", "5"], check=True)
        rout = os.path.join(tmp, "rig_sysid")
        p = tw("sysid", rig, "--model", "builtin", "--out", rout, "--payload", "--quiet")
        print(p.stdout)
        r = json.load(open(os.path.join(rout, "sysid.json")))
        gain = r["actuators"]["gain"]["value"]
        assert abs(gain - 0.8) < 0.04, r["actuators"]
        damp = [jt["params"]["damping"]["value"] for jt in r["joints"]]
        assert all(abs(d - 1.5) < 0.15 for d in damp), damp  # nominal 1 on every arm joint, x1.5
        pl = r["payload_kg"]  # none planted; 3.5 s may not tell a flange mass from the offsets
        assert (pl["value"] is None and not pl["identified"]) or pl["value"] < 0.05, pl
    print("ok")


if __name__ == "__main__":
    main()
