#!/usr/bin/env python3
"""tw record --from on a live robot served by Foxglove's Python SDK (fox_server.py: JointState 1 kHz,
WrenchStamped 1 kHz, CompressedImage 30 Hz as raw CDR channels). Checks: the episode holds exactly the
published values, contiguous from its first sample to the last message published (zero loss, no seq
gap); killing the server mid-episode ends it "interrupted", the recorder reconnects and the next
episode records. Run by meson with the project's .venv python."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TW = os.environ.get("TW_BIN", "build/cli/tw")
sys.path.insert(0, HERE)
from fox_server import js_row, wrench_row  # noqa: E402  (the values the server publishes)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Proc:
    """A child process whose output lines are collected by a thread."""

    def __init__(self, args):
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, prefix, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in list(self.lines):
                if prefix in line:
                    return line
            if self.p.poll() is not None and not self.t.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError("no line with %r; output:\n%s" % (prefix, "\n".join(self.lines)))

    def finish(self, sig=signal.SIGINT, timeout=60):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        self.p.wait(timeout)
        self.t.join(5)
        self.p.stdout.close()
        return self.p.returncode


def server(port, seconds, *extra):
    return Proc([sys.executable, os.path.join(HERE, "fox_server.py"), "--port", str(port), "--seconds", str(seconds)]
                + list(extra))


def episodes(out):
    return sorted(d for d in os.listdir(out) if os.path.isfile(os.path.join(out, d, "episode.h5")))


class RecordFrom(unittest.TestCase):
    def check_exact(self, h5, t0, n_js, n_cam, complete=True):
        """Samples are published messages i0..n-1, values equal, seq contiguous, no drops."""
        with h5py.File(h5, "r") as f:
            js, wr = f["streams/joint_states"], f["streams/wrench"]
            ts = js["t_src_ns"][:]
            i = (ts - t0) // 1_000_000
            self.assertTrue(len(i) > 100)
            np.testing.assert_array_equal(i, np.arange(i[0], i[0] + len(i)))
            if complete:
                self.assertEqual(i[-1], n_js - 1, "the last published joint state was recorded")
            want = np.array([np.stack(js_row(k)) for k in i])
            np.testing.assert_array_equal(js["data"][:], want)
            self.assertEqual(json.loads(js.attrs["declaration"])["axes"], ["j%d" % k for k in range(1, 8)])
            wi = (wr["t_src_ns"][:] - t0) // 1_000_000
            np.testing.assert_array_equal(wi, np.arange(wi[0], wi[0] + len(wi)))
            np.testing.assert_array_equal(wr["data"][:], np.array([sum(wrench_row(k), []) for k in wi]))
            for s in (js, wr):
                self.assertEqual(s.attrs["drops"], 0)
                self.assertEqual(s.attrs["gaps"], 0)
                seq = s["seq"][:]
                np.testing.assert_array_equal(seq, np.arange(seq[0], seq[0] + len(seq)))
            v = f["video/camera.image.compressed"]
            ci = (v["t_src_ns"][:] - t0) // 33_333_333
            np.testing.assert_array_equal(ci, np.arange(ci[0], ci[0] + len(ci)))
            if complete:
                self.assertEqual(ci[-1], n_cam - 1)
            off = f["clock/offset_ns"][:]  # the recorder's pings measured the robot's clock
            self.assertGreater(len(off), 0)
            self.assertLess(np.abs(off).max(), 1_000_000_000)  # same host: offset well under a second
            return f.attrs["status"], len(i)

    def record_until_done(self, srv, rec, out, n_episodes):
        """Waits for the server's last message, stops the recorder like an operator, returns the episodes."""
        done = srv.wait_line("done").split()
        time.sleep(0.5)  # the last messages reach the recorder before the operator stops
        self.assertEqual(rec.finish(), 0, "\n".join(rec.lines))
        srv.finish()
        eps = episodes(out)
        self.assertEqual(len(eps), n_episodes, "\n".join(rec.lines))
        return eps, int(done[4]), int(done[1]), int(done[3])

    def start(self, seconds, *extra):
        out, port = tempfile.mkdtemp(prefix="tw-record-from-"), free_port()
        srv = server(port, seconds, *(["--episode-topic"] if extra else []))
        srv.wait_line("listening")
        return out, port, srv, Proc([TW, "record", "--from", "ws://127.0.0.1:%d" % port, "--out", out] + list(extra))

    def test_episode_topic_starts_and_stops_episodes(self):
        out, port, srv, rec = self.start(3.5, "--episode-topic", "/episode")
        eps, t0, n_js, n_cam = self.record_until_done(srv, rec, out, 2)
        for ep, (a, b) in zip(eps, [(500, 1500), (2000, 3000)]):  # "start" after message a-1, "stop" after b-1
            with h5py.File(os.path.join(out, ep, "episode.h5"), "r") as f:
                self.assertEqual(f.attrs["status"], "complete")
                for s in ("joint_states", "wrench"):
                    i = (f["streams"][s]["t_src_ns"][:] - t0) // 1_000_000
                    np.testing.assert_array_equal(i, np.arange(a, b), err_msg=ep + " " + s)

    def test_records_exact_values_with_zero_loss(self):
        out, port, srv, rec = self.start(3)
        eps, t0, n_js, n_cam = self.record_until_done(srv, rec, out, 1)
        status, n = self.check_exact(os.path.join(out, eps[0], "episode.h5"), t0, n_js, n_cam)
        self.assertEqual(status, "complete")

    def test_stalled_server_is_marked_as_a_rate_collapse(self):
        out, port, srv, rec = self.start(4)
        rec.wait_line("episode")
        time.sleep(1.0)
        srv.p.send_signal(signal.SIGSTOP)  # the robot's bridge stalls: nothing arrives for 2.5 s
        time.sleep(2.5)
        srv.p.send_signal(signal.SIGCONT)
        eps, t0, n_js, n_cam = self.record_until_done(srv, rec, out, 1)
        with h5py.File(os.path.join(out, eps[0], "episode.h5"), "r") as f:
            ev = f["events"]
            marks = [json.loads(d) for k, lab, d in zip(ev["kind"][:], ev["label"][:], ev["data"][:])
                     if k.decode() == "annotate" and lab.decode() == "receive_rate_collapse"]
        self.assertIn("/joint_states", {m["topic"] for m in marks}, marks)
        self.assertTrue(all(m["received_hz"] < 0.5 * m["nominal_hz"] for m in marks))

    def test_server_killed_mid_episode_then_reconnect(self):
        out, port, srv, rec = self.start(0)
        rec.wait_line("episode")
        time.sleep(1.5)
        srv.finish(signal.SIGKILL)
        rec.wait_line("episode interrupted")
        srv2 = server(port, 2)
        srv2.wait_line("listening")
        eps, t0, n_js, n_cam = self.record_until_done(srv2, rec, out, 2)
        with h5py.File(os.path.join(out, eps[0], "episode.h5"), "r") as f:
            self.assertEqual(f.attrs["status"], "interrupted")
            self.assertGreater(f["streams/joint_states/data"].shape[0], 500)
        status, n = self.check_exact(os.path.join(out, eps[1], "episode.h5"), t0, n_js, n_cam)
        self.assertEqual(status, "complete")


if __name__ == "__main__":
    unittest.main(verbosity=2)
