"""What the converter tests share: a check that records failures, running tw, listing episode folders."""
import glob
import os
import subprocess

TW = os.environ.get("TW_BIN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../build/cli/tw"))
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILS.append(what)


def tw(*args, ok=True):
    r = subprocess.run([TW, *args], capture_output=True, text=True)
    if ok and r.returncode != 0:
        print(r.stderr)
        raise SystemExit(f"tw {' '.join(args)} failed")
    return r


def episode_dirs(out):
    return sorted(d for d in glob.glob(f"{out}/*") if os.path.isdir(d))


def no_leftovers(out):
    """Nothing under out: neither published episodes nor .part folders."""
    return not (glob.glob(f"{out}/*") + glob.glob(f"{out}/.*"))


def expect_fail(tmp, fmt, name, path, needles):
    """tw import FMT of a bad input: non-zero exit, a message naming every needle, nothing left under --out."""
    out = f"{tmp}/bad-{name}"
    r = tw("import", fmt, path, "--out", out, ok=False)
    ok = r.returncode != 0 and all(n in r.stderr for n in needles) and no_leftovers(out)
    if not ok:
        print(r.returncode, r.stderr)
    check(ok, f"bad input ({name}): non-zero exit, message names {needles}, nothing left in --out")


def run_tests(prefix, body):
    """Runs body(tmp) in a fresh temporary folder, removes it, prints the count and exits 1 on any failure."""
    import shutil
    import sys
    import tempfile
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        body(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(FAILS)} failures")
    sys.exit(1 if FAILS else 0)
