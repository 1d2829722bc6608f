"""Records real episodes for tests the way a user would: `tw record` on a free loopback port and
`tw rig` streaming into it. Env: TW_BIN."""
import os
import random
import signal
import subprocess
import time

TW = os.environ["TW_BIN"]


def record(out, episodes, duration, seed, perturb, noise=None, truth=None, ids_at=None):
    """Runs a recorder and a rig; returns the folder of recorded episodes. ids_at (Unix seconds): the
    recorder's SOURCE_DATE_EPOCH, so the same rig seed gives the same episode ids (and tw fuse split)."""
    rec_dir = os.path.join(out, "rec")
    env = dict(os.environ)
    if ids_at is not None:
        env["SOURCE_DATE_EPOCH"] = str(ids_at)
    for _ in range(5):
        port = random.randint(20000, 50000)
        log = open(os.path.join(out, "record.log"), "w")
        rec = subprocess.Popen([TW, "record", "--listen", f"127.0.0.1:{port}", "--out", rec_dir, "--quiet"],
                               stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 10
        while time.time() < deadline and rec.poll() is None and not os.path.exists(os.path.join(rec_dir, ".token")):
            time.sleep(0.05)
        time.sleep(0.3)
        if rec.poll() is None:
            break
    else:
        raise AssertionError("tw record did not start: " + open(os.path.join(out, "record.log")).read())
    try:
        args = [TW, "rig", "--url", f"ws://127.0.0.1:{port}", "--token-file", os.path.join(rec_dir, ".token"),
                "--episodes", str(episodes), "--duration", str(duration), "--seed", str(seed), "--speed", "0",
                "--perturb", perturb, "--truth", truth or os.path.join(out, "truth.json")]
        if noise is not None:
            args += ["--noise", str(noise)]
        p = subprocess.run(args, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, f"tw rig failed ({p.returncode}):\n{p.stderr}"
    finally:
        rec.send_signal(signal.SIGINT)
        rec.wait(timeout=30)
    return rec_dir
