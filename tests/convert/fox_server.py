#!/usr/bin/env python3
"""A live ROS 2 robot as foxglove_bridge shows it, served by Foxglove's own Python SDK (foxglove-sdk):
raw CDR channels with ros2msg schemas (the SDK publishes raw bytes on a Channel with a Schema, so
@foxglove/ws-protocol is not needed), messages serialized by rosbags:
  /joint_states  sensor_msgs/msg/JointState       1 kHz
  /wrench        geometry_msgs/msg/WrenchStamped   1 kHz
  /camera/image/compressed sensor_msgs/msg/CompressedImage (JPEG) 30 Hz
Message i of a topic carries header.stamp = T0 + i * period and values that are a function of i, so a
recording can be checked exactly. Publishing starts when a client subscribes and runs --seconds (or
until killed). Prints "listening PORT" once the server is up and "done N_JS N_WR N_CAM" at the end.

Usage: fox_server.py --port P [--seconds S] [--t0 NS] [--jpeg FILE]"""
import argparse
import io
import sys
import threading
import time

import foxglove
import numpy as np
from rosbags.typesys import Stores, get_typestore

JOINTS = ["j1", "j2", "j3", "j4", "j5", "j6", "j7"]


def js_row(i):
    k = np.arange(7)
    return 0.001 * i + 0.1 * k, 0.5 + 0.01 * k, -1.0 + 0.002 * i + k


def wrench_row(i):
    return [0.5, -0.25 + 1e-3 * i, 9.81], [0.01 * (i % 100), 0.0, -0.125]


def jpeg(i):
    from PIL import Image
    b = io.BytesIO()
    Image.new("RGB", (160, 120), (i * 7 % 256, 64, 200)).save(b, format="JPEG", quality=85)
    return b.getvalue()


class Listener(foxglove.ServerListener if hasattr(foxglove, "ServerListener") else object):
    def __init__(self):
        self.subscribed = threading.Event()

    def on_subscribe(self, client, channel):
        self.subscribed.set()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=0)
    ap.add_argument("--t0", type=int, default=0)
    ap.add_argument("--episode-topic", action="store_true",
                    help="also publish std_msgs/String on /episode: start at 0.5 s, stop 1.5 s, start 2 s, stop 3 s")
    ap.add_argument("--jpeg", help="publish this picture at 30 Hz instead of generated 160x120 ones")
    a = ap.parse_args()
    ts = get_typestore(Stores.ROS2_HUMBLE)
    T = ts.types
    chans = {}
    for topic, typ in [("/joint_states", "sensor_msgs/msg/JointState"), ("/wrench", "geometry_msgs/msg/WrenchStamped"),
                       ("/camera/image/compressed", "sensor_msgs/msg/CompressedImage")]:
        text = ts.generate_msgdef(typ, ros_version=2)[0]
        chans[topic] = foxglove.Channel(topic, schema=foxglove.Schema(name=typ, encoding="ros2msg", data=text.encode()),
                                        message_encoding="cdr")
    picture = open(a.jpeg, "rb").read() if a.jpeg else None
    marks = [(500, "start"), (1500, "stop"), (2000, "start"), (3000, "stop")] if a.episode_topic else []
    if marks:
        text = ts.generate_msgdef("std_msgs/msg/String", ros_version=2)[0]
        chans["/episode"] = foxglove.Channel("/episode", schema=foxglove.Schema(
            name="std_msgs/msg/String", encoding="ros2msg", data=text.encode()), message_encoding="cdr")
    lis = Listener()
    server = foxglove.start_server(name="tw-test-robot", host="127.0.0.1", port=a.port, server_listener=lis,
                                   message_backlog_size=1 << 16)
    print("listening", server.port, flush=True)
    lis.subscribed.wait()
    time.sleep(0.2)  # let the client subscribe to every channel
    t0 = a.t0 or time.time_ns()
    H, Time, V, W = T["std_msgs/msg/Header"], T["builtin_interfaces/msg/Time"], T["geometry_msgs/msg/Vector3"], T["geometry_msgs/msg/Wrench"]

    def hdr(t, frame):
        return H(stamp=Time(sec=t // 10**9, nanosec=t % 10**9), frame_id=frame)

    n_js = n_cam = 0
    start = time.monotonic()
    while not a.seconds or time.monotonic() - start < a.seconds:
        due = int((time.monotonic() - start) * 1000) + 1  # messages due by now at 1 kHz
        while n_js < due:
            t = t0 + n_js * 1_000_000
            p, v, e = js_row(n_js)
            m = T["sensor_msgs/msg/JointState"](header=hdr(t, "base"), name=JOINTS, position=p, velocity=v, effort=e)
            chans["/joint_states"].log(bytes(ts.serialize_cdr(m, "sensor_msgs/msg/JointState")), log_time=time.time_ns())
            f, tq = wrench_row(n_js)
            m = T["geometry_msgs/msg/WrenchStamped"](header=hdr(t, "tool0"), wrench=W(force=V(x=f[0], y=f[1], z=f[2]),
                                                                                    torque=V(x=tq[0], y=tq[1], z=tq[2])))
            chans["/wrench"].log(bytes(ts.serialize_cdr(m, "geometry_msgs/msg/WrenchStamped")), log_time=time.time_ns())
            n_js += 1
            if marks and n_js == marks[0][0]:  # after joint state n_js - 1
                m = T["std_msgs/msg/String"](data=marks.pop(0)[1])
                chans["/episode"].log(bytes(ts.serialize_cdr(m, "std_msgs/msg/String")), log_time=time.time_ns())
            if n_js * 30 // 1000 >= n_cam:  # 30 Hz, one picture every 33.3 ms
                t = t0 + n_cam * 33_333_333
                m = T["sensor_msgs/msg/CompressedImage"](header=hdr(t, "cam"), format="jpeg",
                                                         data=np.frombuffer(picture or jpeg(n_cam), dtype=np.uint8))
                chans["/camera/image/compressed"].log(bytes(ts.serialize_cdr(m, "sensor_msgs/msg/CompressedImage")),
                                                      log_time=time.time_ns())
                n_cam += 1
        time.sleep(0.0005)
    print("done", n_js, n_js, n_cam, t0, flush=True)
    time.sleep(1.0)  # the last messages leave the socket
    server.stop()


if __name__ == "__main__":
    sys.exit(main())
