#!/usr/bin/env python3
"""tw import mcap on bags written by real peers (mcap_peers.py: rosbags, Foxglove's mcap +
mcap-ros2-support): exact values and counts, cut and summary-less files, the topic map, splits, and
bad input (clear error, non-zero exit, nothing in OUT). Run by meson with the project's .venv python."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TW = os.environ.get("TW_BIN", "build/cli/tw")
PEERS = [sys.executable, os.path.join(HERE, "mcap_peers.py")]


def peer(*args):
    subprocess.run(PEERS + list(args), check=True, stderr=subprocess.DEVNULL)


def tw(*args):
    return subprocess.run([TW] + list(args), capture_output=True, text=True)


class ImportMcap(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tw-import-mcap-")
        cls.p = lambda cls_, n: os.path.join(cls.dir, n)
        peer("rosbag2", os.path.join(cls.dir, "bag"))
        peer("mcapfile", os.path.join(cls.dir, "full.mcap"))
        peer("mcapfile", os.path.join(cls.dir, "nosum.mcap"), "nosummary")
        peer("mcapfile", os.path.join(cls.dir, "cut.mcap"), "cut")
        cls.expect = json.load(open(os.path.join(cls.dir, "bag.expect.json")))

    def path(self, n):
        return os.path.join(self.dir, n)

    def imported(self, src, out, *extra):
        r = tw("import", "mcap", self.path(src), "--out", self.path(out), *extra)
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        return r

    def check_values(self, h5, counts=None):
        e = self.expect
        with h5py.File(h5, "r") as f:
            js, ft, cmd = f["streams/joint_states"], f["streams/ft"], f["streams/cmd"]
            n = counts["/joint_states"] if counts else e["joint_states"]["n"]
            self.assertEqual(js["data"].shape, (n, 3, 3))
            np.testing.assert_array_equal(js["data"][:], np.array(e["joint_states"]["rows"][:n]))
            np.testing.assert_array_equal(js["t_src_ns"][:], e["joint_states"]["t_src"][:n])
            np.testing.assert_array_equal(js["t_recv_ns"][:], e["joint_states"]["t_recv"][:n])
            np.testing.assert_array_equal(js["seq"][:], np.arange(n))
            self.assertEqual(json.loads(js.attrs["declaration"])["axes"], e["joint_states"]["names"])
            n = counts["/ft"] if counts else e["ft"]["n"]
            np.testing.assert_array_equal(ft["data"][:], np.array(e["ft"]["rows"][:n]))
            np.testing.assert_array_equal(ft["t_src_ns"][:], e["ft"]["t_src"][:n])
            np.testing.assert_array_equal(ft["t_recv_ns"][:], e["ft"]["t_recv"][:n])
            self.assertEqual(json.loads(ft.attrs["declaration"])["frame"], "tool0")
            n = counts["/cmd"] if counts else e["cmd"]["n"]
            np.testing.assert_array_equal(cmd["data"][:], np.array(e["cmd"]["rows"][:n]))
            np.testing.assert_array_equal(cmd["t_recv_ns"][:], e["cmd"]["t_recv"][:n])
            np.testing.assert_array_equal(cmd["t_src_ns"][:], e["cmd"]["t_recv"][:n])  # no header: receive time
            v = f["video/camera.compressed"]
            n = counts["/camera/compressed"] if counts else e["camera.compressed"]["n"]
            np.testing.assert_array_equal(v["t_src_ns"][:], e["camera.compressed"]["t_src"][:n])
            self.assertEqual(v.attrs["codec"], "h264")
            self.assertEqual((v.attrs["width"], v.attrs["height"]), (64, 48))
            for s in f["streams"].values():
                self.assertEqual(s.attrs["drops"], 0)
            self.assertEqual(f.attrs["status"], "complete")

    def test_rosbag2_directory_exact_values(self):
        r = self.imported("bag", "out_bag")
        self.check_values(self.path("out_bag/bag/episode.h5"))
        self.assertIn("not imported: /chatter (std_msgs/msg/String, 5 messages)", r.stdout)
        v = tw("inspect", self.path("out_bag/bag"))
        self.assertEqual(v.returncode, 0, v.stdout)
        self.assertIn("18 frames indexed, 18 in", v.stdout)

    def test_mcap_file_exact_values(self):
        self.imported("full.mcap", "out_full")
        self.check_values(self.path("out_full/full/episode.h5"))

    def test_no_summary_imports_what_the_stream_reader_sees(self):
        r = self.imported("nosum.mcap", "out_nosum")
        self.check_values(self.path("out_nosum/nosum/episode.h5"), json.load(open(self.path("nosum.mcap.stream.json"))))
        self.assertIn("stopped early", r.stdout)

    def test_cut_mid_chunk_imports_everything_before_the_cut(self):
        r = self.imported("cut.mcap", "out_cut")
        counts = json.load(open(self.path("cut.mcap.stream.json")))
        self.check_values(self.path("out_cut/cut/episode.h5"), counts)
        self.assertRegex(r.stdout, r"stopped early: .*cut.mcap.* chunk record at byte \d+ .*cut by the end of the file")
        with h5py.File(self.path("out_cut/cut/episode.h5"), "r") as f:
            self.assertEqual(f["streams/joint_states"]["data"].shape[0], counts["/joint_states"])
            self.assertEqual(json.loads(f.attrs["metadata"])["truncated"], True)

    def test_topic_map_renames_and_ignores(self):
        m = self.path("map.json")
        with open(m, "w") as fh:
            json.dump({"topics": {"/ft": {"kind": "wrench", "stream": "wrist_ft"}, "/cmd": "ignore"}}, fh)
        r = self.imported("full.mcap", "out_map", "--topics", m)
        with h5py.File(self.path("out_map/full/episode.h5"), "r") as f:
            self.assertEqual(sorted(f["streams"].keys()), ["camera.compressed", "joint_states", "wrist_ft"])
        self.assertIn("not imported: /cmd (std_msgs/msg/Float64MultiArray, 60 messages): ignored by the topic map",
                      r.stdout)

    def test_split_on_topic(self):
        self.imported("full.mcap", "out_split", "--split-on", "/chatter")
        eps = sorted(os.listdir(self.path("out_split")))
        self.assertEqual(eps, ["full-%03d" % i for i in range(5)])  # the first /chatter precedes every mapped message
        total = 0
        for e in eps:
            with h5py.File(self.path("out_split/%s/episode.h5" % e), "r") as f:
                total += f["streams/joint_states"]["data"].shape[0] if "joint_states" in f["streams"] else 0
        self.assertEqual(total, 600)

    def test_episode_gap_splits_at_the_pause(self):
        peer("mcapfile", self.path("gap.mcap"), "gap")
        self.imported("gap.mcap", "out_gap", "--episode-gap", "1.5")
        self.assertEqual(sorted(os.listdir(self.path("out_gap"))), ["gap-000", "gap-001"])
        n = []
        for e in ["gap-000", "gap-001"]:
            with h5py.File(self.path("out_gap/%s/episode.h5" % e), "r") as f:
                t = f["streams/joint_states"]["t_recv_ns"][:]
                n.append(len(t))
                self.assertLess(t[-1] - t[0], 1_000_000_000)
        self.assertEqual(n, [300, 300])

    def assert_refused(self, src, out, *want, extra=()):
        r = tw("import", "mcap", self.path(src), "--out", self.path(out), *extra)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        for w in want:
            self.assertRegex(r.stderr, w)
        self.assertEqual(os.listdir(self.path(out)), [], "nothing half-written in OUT")

    def test_type_contradicting_the_map_is_refused(self):
        m = self.path("badmap.json")
        with open(m, "w") as fh:
            json.dump({"topics": {"/ft": "joint_state"}}, fh)
        self.assert_refused("full.mcap", "out_badmap", r"/ft: the map says joint_state but its type "
                            r"geometry_msgs/msg/WrenchStamped is a WrenchStamped", r"full.mcap", extra=("--topics", m))

    def test_bad_inputs(self):
        cases = {"crc": [r"bad_crc.mcap: chunk at byte \d+: CRC mismatch", r"INTEGRITY"],
                 "chunk": [r"bad_chunk.mcap: chunk at byte \d+: compressed records"],
                 "schema": [r"bad_schema.mcap: schema record 1 'sensor_msgs/msg/JointState'.*line 2.*float64\["],
                 "notmcap": [r"bad_notmcap.mcap: not an MCAP file \(no MCAP magic at byte 0\)"]}
        for kind, want in cases.items():
            with self.subTest(kind=kind):
                peer("bad", kind, self.path("bad_%s.mcap" % kind))
                self.assert_refused("bad_%s.mcap" % kind, "out_bad_" + kind, *want)


if __name__ == "__main__":
    unittest.main(verbosity=2)
