#!/usr/bin/env python3
"""tw export mcap read back by Foxglove's Python mcap + mcap-ros2-support and by npm @mcap/core: the
same values, stamps, receive times and bytes; the video is H.264 in foxglove_msgs/msg/CompressedVideo;
the exported file imports back into the same values. Run by meson with the project's .venv python."""
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
ROOT = os.environ.get("TW_SOURCE_ROOT", os.path.join(HERE, "..", ".."))
PEERS = [sys.executable, os.path.join(HERE, "mcap_peers.py")]


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, **kw)


class ExportMcap(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = d = tempfile.mkdtemp(prefix="tw-export-mcap-")
        subprocess.run(PEERS + ["rosbag2", os.path.join(d, "bag")], check=True, stderr=subprocess.DEVNULL)
        cls.expect = json.load(open(os.path.join(d, "bag.expect.json")))
        r = run(TW, "import", "mcap", os.path.join(d, "bag"), "--out", os.path.join(d, "eps"))
        assert r.returncode == 0, r.stderr
        cls.ep = os.path.join(d, "eps", "bag")
        cls.out = os.path.join(d, "bag.mcap")
        r = run(TW, "export", "mcap", cls.ep, "--out", cls.out)
        assert r.returncode == 0, r.stderr + r.stdout
        subprocess.run(PEERS + ["readback", cls.out, os.path.join(d, "py.json")], check=True)
        cls.py = json.load(open(os.path.join(d, "py.json")))
        r = run("node", os.path.join(HERE, "mcap_readback.mjs"), cls.out, cwd=ROOT)
        assert r.returncode == 0, r.stderr
        cls.js = json.loads(r.stdout)

    def test_python_reads_the_same_values(self):
        e, py = self.expect, self.py
        self.assertEqual(py["compression"], ["zstd"])
        self.assertTrue(all(v == "ros2msg" for v in py["schemas"].values()))
        js = py["/joint_states"]
        self.assertEqual(js["type"], "sensor_msgs/msg/JointState")
        self.assertEqual(js["rows"], [list(map(list, r)) for r in e["joint_states"]["rows"]])
        self.assertEqual(js["names"], e["joint_states"]["names"])
        self.assertEqual(js["t_src"], e["joint_states"]["t_src"])
        self.assertEqual(js["log"], e["joint_states"]["t_recv"])
        ft = py["/ft"]
        self.assertEqual(ft["type"], "geometry_msgs/msg/WrenchStamped")
        self.assertEqual(ft["rows"], e["ft"]["rows"])
        self.assertEqual(ft["t_src"], e["ft"]["t_src"])
        self.assertEqual(py["/cmd"]["rows"], e["cmd"]["rows"])
        self.assertEqual(py["/cmd"]["log"], e["cmd"]["t_recv"])
        v = py["/camera.compressed"]
        self.assertEqual(v["type"], "foxglove_msgs/msg/CompressedVideo")
        self.assertEqual(v["formats"], ["h264"])
        self.assertEqual(v["n"], e["camera.compressed"]["n"])
        self.assertEqual(v["t_src"], e["camera.compressed"]["t_src"])
        self.assertTrue(v["first_bytes"].startswith("00000001") or v["first_bytes"].startswith("000001"))

    def test_npm_mcap_core_reads_the_same_bytes(self):
        self.assertEqual(self.js["profile"], "ros2")
        self.assertEqual(self.js["metadata"]["teleworld.episode"]["episode_id"], "bag")
        for topic, t in self.js["topics"].items():
            with self.subTest(topic=topic):
                self.assertEqual(t["schema"], self.py[topic]["type"])
                self.assertEqual(t["n"], self.py[topic]["n"])
                self.assertEqual([int(x) for x in t["log"]], self.py[topic]["log"])
                self.assertEqual(t["sha256"], self.py[topic]["sha256"])
        self.assertEqual(sorted(self.js["topics"]), ["/camera.compressed", "/cmd", "/ft", "/joint_states"])

    def test_exported_file_imports_back_to_the_same_episode(self):
        out = os.path.join(self.dir, "again")
        r = run(TW, "import", "mcap", self.out, "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with h5py.File(os.path.join(self.ep, "episode.h5"), "r") as a, \
                h5py.File(os.path.join(out, "bag", "episode.h5"), "r") as b:
            for s in ["joint_states", "ft", "cmd"]:
                for ds in ["data", "t_src_ns", "t_recv_ns"]:
                    np.testing.assert_array_equal(a["streams"][s][ds][:], b["streams"][s][ds][:], err_msg=s + ds)
            va, vb = a["video/camera.compressed"], b["video/camera.compressed"]
            np.testing.assert_array_equal(va["t_src_ns"][:], vb["t_src_ns"][:])
            # H.264 passed through unchanged; the first access unit gains the SPS/PPS the Matroska file
            # keeps in its header (Annex-B carries them in-band)
            np.testing.assert_array_equal(va["size"][1:], vb["size"][1:])
            self.assertTrue(0 <= int(vb["size"][0]) - int(va["size"][0]) <= 64)

    def test_not_an_episode_is_refused_and_nothing_written(self):
        out = os.path.join(self.dir, "nothing.mcap")
        r = run(TW, "export", "mcap", self.dir, "--out", out)
        self.assertEqual(r.returncode, 1)
        self.assertIn(self.dir, r.stderr)
        self.assertFalse(os.path.exists(out) or os.path.exists(out + ".tmp"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
