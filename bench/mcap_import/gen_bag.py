#!/usr/bin/env python3
"""A teleop bag as a ROS 2 recorder writes it, by Foxglove's mcap + mcap-ros2-support: 7-joint
JointState and WrenchStamped at 1 kHz, and (with --camera) 320x240 JPEG CompressedImage at 30 Hz;
zstd chunks. Also writes FILE.jpg: one of its pictures (the live benchmark's frame).
Usage: gen_bag.py FILE SECONDS [--camera]"""
import io
import sys

from mcap.writer import CompressionType
from mcap_ros2.writer import Writer
from PIL import Image
from rosbags.typesys import Stores, get_typestore

path, secs, camera = sys.argv[1], float(sys.argv[2]), "--camera" in sys.argv
ts = get_typestore(Stores.ROS2_HUMBLE)
T0 = 1_700_000_000_000_000_000
names = ["j%d" % k for k in range(1, 8)]


def jpeg(i):
    im = Image.effect_noise((320, 240), 40 + i % 20).convert("RGB")
    b = io.BytesIO()
    im.save(b, format="JPEG", quality=85)
    return b.getvalue()


pics = [jpeg(i) for i in range(30)] if camera else []
if pics:
    open(path + ".jpg", "wb").write(pics[0])
with open(path, "wb") as f:
    w = Writer(f, compression=CompressionType.ZSTD)
    sch = {t: w.register_msgdef(t, ts.generate_msgdef(t, ros_version=2)[0]) for t in
           ["sensor_msgs/msg/JointState", "geometry_msgs/msg/WrenchStamped", "sensor_msgs/msg/CompressedImage"]}
    n = int(secs * 1000)
    for i in range(n):
        t = T0 + i * 1_000_000
        st = {"sec": t // 10**9, "nanosec": t % 10**9}
        w.write_message("/joint_states", sch["sensor_msgs/msg/JointState"],
                        {"header": {"stamp": st, "frame_id": "base"}, "name": names,
                         "position": [1e-3 * i + k for k in range(7)], "velocity": [0.1 * k for k in range(7)],
                         "effort": [0.5] * 7}, log_time=t + 200_000, publish_time=t)
        w.write_message("/wrench", sch["geometry_msgs/msg/WrenchStamped"],
                        {"header": {"stamp": st, "frame_id": "tool0"},
                         "wrench": {"force": {"x": 1.0, "y": 2.0, "z": 1e-3 * i}, "torque": {"x": 0.0, "y": 0.1, "z": 0.2}}},
                        log_time=t + 300_000, publish_time=t)
        if pics and i % 33 == 0:
            w.write_message("/camera/image/compressed", sch["sensor_msgs/msg/CompressedImage"],
                            {"header": {"stamp": st, "frame_id": "cam"}, "format": "jpeg", "data": pics[(i // 33) % 30]},
                            log_time=t + 2_000_000, publish_time=t)
    w.finish()
