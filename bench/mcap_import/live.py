#!/usr/bin/env python3
"""Live ingest, side by side in one run: the same load (7-joint JointState and WrenchStamped at 1 kHz,
a 320x240 JPEG at 30 Hz) recorded
  (a) by `tw record --from` from a Foxglove SDK server (tests/convert/fox_server.py, raw CDR channels);
  (b) by `tw record` from a teleworld.v1 client (tw_bench_rosload, bridge/client).
CPU = user + system time of the recording process over its whole life (wait4 rusage), per message
recorded; loss = messages sent after the episode started that are not in the episode.
Usage: live.py BUILD_DIR SECONDS JPEG"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD, SECS, JPEG = sys.argv[1], float(sys.argv[2]), sys.argv[3]
TW = os.path.join(BUILD, "cli", "tw")
sys.path.insert(0, os.path.join(ROOT, "tests", "convert"))
from test_record_from import free_port  # noqa: E402  (the live test's helpers)


def wait_port(port, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nothing listens on %d" % port)


def stop(p):
    p.send_signal(signal.SIGINT)
    _, status, ru = os.wait4(p.pid, 0)
    return ru.ru_utime + ru.ru_stime


def recorded(out):
    """(messages in the episode, seq gaps + drops, streams) of the only episode under out."""
    eps = [d for d in os.listdir(out) if os.path.isfile(os.path.join(out, d, "episode.h5"))]
    assert len(eps) == 1, eps
    n = lost = 0
    with h5py.File(os.path.join(out, eps[0], "episode.h5"), "r") as f:
        for name, s in f["streams"].items():
            seq = s["seq"][:]
            n += len(seq)
            lost += int(s.attrs["drops"]) + int(np.count_nonzero(np.diff(seq) != 1))
    return n, lost


def foxglove_run():
    out, port = tempfile.mkdtemp(prefix="tw-bench-from-"), free_port()
    srv = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/convert/fox_server.py"), "--port", str(port),
                            "--seconds", str(SECS), "--jpeg", JPEG], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    assert srv.stdout.readline().startswith("listening")
    rec = subprocess.Popen([TW, "record", "--from", "ws://127.0.0.1:%d" % port, "--out", out, "--quiet"])
    done = srv.stdout.readline().split()
    time.sleep(0.5)
    cpu = stop(rec)
    srv.wait()
    n, lost = recorded(out)
    published = int(done[1]) + int(done[2]) + int(done[3])
    return n, lost, cpu, published


def own_protocol_run():
    out, port = tempfile.mkdtemp(prefix="tw-bench-own-"), free_port()
    rec = subprocess.Popen([TW, "record", "--listen", "127.0.0.1:%d" % port, "--out", out, "--quiet"],
                           stderr=subprocess.DEVNULL)
    wait_port(port)
    token = open(os.path.join(out, ".token")).read().strip()
    load = subprocess.run([os.path.join(BUILD, "bench/mcap_import/tw_bench_rosload"), "--url",
                           "ws://127.0.0.1:%d" % port, "--token", token, "--seconds", str(SECS), "--jpeg", JPEG],
                          capture_output=True, text=True, check=True)
    cpu = stop(rec)
    n, lost = recorded(out)
    return n, lost, cpu, int(load.stdout.split()[1])


a = foxglove_run()
b = own_protocol_run()
print("live ingest, %g s of JointState 1 kHz + WrenchStamped 1 kHz + 320x240 JPEG 30 Hz:" % SECS)
print("  %-44s %9s %9s %7s %9s %10s" % ("", "published", "recorded", "lost", "CPU s", "CPU us/msg"))
for name, (n, lost, cpu, pub) in [("tw record --from (foxglove.sdk.v1, CDR)", a),
                                  ("tw record (teleworld.v1, bridge/client)", b)]:
    print("  %-44s %9d %9d %7d %9.2f %10.1f" % (name, pub, n, lost, cpu, cpu / n * 1e6))
print("  ratio CPU per message --from / own protocol: %.2f" % ((a[2] / a[0]) / (b[2] / b[0])))
print("  (--from records from the first message after its settle phase: published - recorded = messages"
      " before the episode started; lost counts seq gaps and drops inside the episode)")
