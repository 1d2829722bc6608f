#!/usr/bin/env python3
"""Seeds for fuzz_ros2 from the golden vectors tests/ros2/ros2_vectors.py writes.
Usage: gen_corpus_ros2.py VECTOR_DIR OUT_DIR  (e.g. build/tests/ros2/vectors/decode fuzz/corpus_ros2)
Seed layout (see fuzz_ros2.c): byte 0 = canonical kind - 1 then CDR; 'J' then JSON; 'P' then protobuf;
anything else then "schema text NUL CDR"."""
import json
import pathlib
import sys

KINDS = ["JointState", "WrenchStamped", "Imu", "CompressedImage", "Image", "CompressedVideo",
         "Float64MultiArray", "JointTrajectory"]

src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
for name in json.loads((src / "vectors.json").read_text()):
    vec = json.loads((src / f"{name}.json").read_text())
    (out / f"{name}.json.seed").write_bytes(b"J" + json.dumps(vec["json"]).encode())
    if "cdr" not in vec:
        continue
    for enc in ("le", "be"):
        cdr = (src / vec["cdr"][enc]).read_bytes()
        if vec["kind"] in KINDS and not vec["type"].startswith("acme"):
            (out / f"{name}.{enc}.seed").write_bytes(bytes([KINDS.index(vec["kind"])]) + cdr)
        (out / f"{name}.{enc}.schema.seed").write_bytes(b"S" + vec["schema"].encode() + b"\0" + cdr)
if (src / "pb_video.bin").exists():
    (out / "pb_video.seed").write_bytes(b"P" + (src / "pb_video.bin").read_bytes())
