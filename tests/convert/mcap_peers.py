#!/usr/bin/env python3
"""Bags for the tw import/export mcap tests, written by the tools ROS 2 users have, and readers that
check what tw wrote. Each writer also saves expect.json: the exact values it published.

  mcap_peers.py rosbag2 DIR            rosbag2 directory (metadata.yaml + .mcap) written by `rosbags`
  mcap_peers.py mcapfile FILE [MODE]   one MCAP file by Foxglove's mcap + mcap-ros2-support;
                                       MODE: full (default), nosummary, cut (cut in the middle of a chunk),
                                       gap (log times after 0.3 s shifted by 2 s)
  mcap_peers.py bad KIND FILE          damaged inputs: crc, chunk, schema, notmcap
  mcap_peers.py readback FILE OUT.json what Python mcap + mcap-ros2-support read from an exported file
"""
import io
import json
import struct
import sys
import zlib
from pathlib import Path

T0 = 1_700_000_000_000_000_000
N_JS = 600       # 1 kHz joint states, 0.6 s
N_CAM = 18       # 30 Hz pictures
JOINTS = ["shoulder", "elbow", "wrist"]


def js_values(i):
    return ([0.001 * i, -0.002 * i, 0.5], [0.1, 0.2, 0.3 + i * 1e-3], [1.5, -2.5, 0.0])


def wrench_values(i):
    return ([1.0, 0.01 * i, -9.81], [0.0, 0.25, 0.001 * i])


def jpeg(i, w=64, h=48):
    from PIL import Image
    img = Image.new("RGB", (w, h), (i * 10 % 256, 128, 255 - i * 10 % 256))
    b = io.BytesIO()
    img.save(b, format="JPEG", quality=90)
    return b.getvalue()


def stamp(t):
    return t // 10**9, t % 10**9


def expect(path, lag_js=150_000, lag_ft=170_000):
    """What a correct import holds: per stream, exact values, stamps (source) and log times (receive)."""
    return {
        "joint_states": {"n": N_JS, "names": JOINTS,
                         "t_src": [T0 + i * 1_000_000 for i in range(N_JS)],
                         "t_recv": [T0 + i * 1_000_000 + lag_js for i in range(N_JS)],
                         "rows": [js_values(i) for i in range(N_JS)]},
        "ft": {"n": N_JS, "t_src": [T0 + i * 1_000_000 + 500_000 for i in range(N_JS)],
               "t_recv": [T0 + i * 1_000_000 + 500_000 + lag_ft for i in range(N_JS)],
               "rows": [wrench_values(i)[0] + wrench_values(i)[1] for i in range(N_JS)]},
        "camera.compressed": {"n": N_CAM, "t_src": [T0 + i * 33_333_333 for i in range(N_CAM)],
                              "width": 64, "height": 48},
        "cmd": {"n": 60, "t_recv": [T0 + i * 10_000_000 + 1000 for i in range(60)],
                "rows": [[0.1 * i, -0.1 * i] for i in range(60)]},
        "unmapped": ["/chatter"],
    }


def messages():
    """(log_time, topic, kind, index) in log-time order."""
    ev = []
    for i in range(N_JS):
        t = T0 + i * 1_000_000
        ev.append((t + 150_000, "/joint_states", "js", i))
        ev.append((t + 500_000 + 170_000, "/ft", "ft", i))
    for i in range(N_CAM):
        ev.append((T0 + i * 33_333_333 + 2_000_000, "/camera/compressed", "cam", i))
    for i in range(60):
        ev.append((T0 + i * 10_000_000 + 1000, "/cmd", "cmd", i))
    for i in range(5):
        ev.append((T0 + i * 100_000_000 + 7, "/chatter", "str", i))
    ev.sort()
    return ev


def ros_dict(kind, i):
    if kind == "js":
        p, v, e = js_values(i)
        s, ns = stamp(T0 + i * 1_000_000)
        return {"header": {"stamp": {"sec": s, "nanosec": ns}, "frame_id": "base"}, "name": JOINTS,
                "position": p, "velocity": v, "effort": e}
    if kind == "ft":
        f, tq = wrench_values(i)
        s, ns = stamp(T0 + i * 1_000_000 + 500_000)
        return {"header": {"stamp": {"sec": s, "nanosec": ns}, "frame_id": "tool0"},
                "wrench": {"force": dict(zip("xyz", f)), "torque": dict(zip("xyz", tq))}}
    if kind == "cam":
        s, ns = stamp(T0 + i * 33_333_333)
        return {"header": {"stamp": {"sec": s, "nanosec": ns}, "frame_id": "cam"}, "format": "jpeg",
                "data": jpeg(i)}
    if kind == "cmd":
        return {"layout": {"dim": [], "data_offset": 0}, "data": [0.1 * i, -0.1 * i]}
    return {"data": "hello %d" % i}


TYPES = {"js": "sensor_msgs/msg/JointState", "ft": "geometry_msgs/msg/WrenchStamped",
         "cam": "sensor_msgs/msg/CompressedImage", "cmd": "std_msgs/msg/Float64MultiArray",
         "str": "std_msgs/msg/String"}


def write_rosbag2(d):
    import numpy as np
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore
    ts = get_typestore(Stores.ROS2_HUMBLE)
    T = {k: ts.types[v] for k, v in TYPES.items()}
    H, Time = ts.types["std_msgs/msg/Header"], ts.types["builtin_interfaces/msg/Time"]

    def build(kind, i):
        m = ros_dict(kind, i)
        if kind in ("js", "ft", "cam"):
            hd = H(stamp=Time(sec=m["header"]["stamp"]["sec"], nanosec=m["header"]["stamp"]["nanosec"]),
                   frame_id=m["header"]["frame_id"])
        if kind == "js":
            return T[kind](header=hd, name=JOINTS, position=np.array(m["position"]),
                           velocity=np.array(m["velocity"]), effort=np.array(m["effort"]))
        if kind == "ft":
            V, W = ts.types["geometry_msgs/msg/Vector3"], ts.types["geometry_msgs/msg/Wrench"]
            return T[kind](header=hd, wrench=W(force=V(**m["wrench"]["force"]), torque=V(**m["wrench"]["torque"])))
        if kind == "cam":
            return T[kind](header=hd, format="jpeg", data=np.frombuffer(m["data"], dtype=np.uint8))
        if kind == "cmd":
            L = ts.types["std_msgs/msg/MultiArrayLayout"]
            return T[kind](layout=L(dim=[], data_offset=0), data=np.array(m["data"]))
        return T[kind](data=m["data"])

    with Writer(Path(d), version=8, storage_plugin=StoragePlugin.MCAP) as w:
        conns = {}
        for log, topic, kind, i in messages():
            if topic not in conns:
                conns[topic] = w.add_connection(topic, TYPES[kind], typestore=ts)
            w.write(conns[topic], log, ts.serialize_cdr(build(kind, i), TYPES[kind]))
    json.dump(expect(d), open(Path(d).parent / (Path(d).name + ".expect.json"), "w"))


def write_mcap(path, mode="full"):
    from mcap.writer import CompressionType
    from mcap_ros2.writer import Writer as Ros2Writer
    from rosbags.typesys import Stores, get_typestore
    ts = get_typestore(Stores.ROS2_HUMBLE)
    f = open(path, "wb")
    w = Ros2Writer(f, chunk_size=16 * 1024, compression=CompressionType.ZSTD)
    sch = {k: w.register_msgdef(v, msgdef(ts, v)) for k, v in TYPES.items()}
    for log, topic, kind, i in messages():
        if mode == "gap" and log >= T0 + 300_000_000:  # the operator paused 2 s after 0.3 s
            log += 2_000_000_000
        w.write_message(topic, sch[kind], ros_dict(kind, i), log_time=log, publish_time=log, sequence=i)
    if mode in ("full", "gap"):
        w.finish()
    else:  # a killed recorder: chunks written so far reach the disk, no summary, no footer
        w._writer._Writer__stream.flush()
    f.close()
    if mode == "cut":
        data = open(path, "rb").read()
        cut = chunk_middle(data)
        open(path, "wb").write(data[:cut])
        json.dump({"cut_at": cut}, open(str(path) + ".cut.json", "w"))
    json.dump(expect(path), open(str(path) + ".expect.json", "w"))
    if mode not in ("full", "gap"):
        json.dump(stream_counts(path), open(str(path) + ".stream.json", "w"))


def stream_counts(path):
    """Messages per topic Python's stream reader yields before the file ends or breaks."""
    from mcap.records import Channel, Message
    from mcap.stream_reader import StreamReader
    topics, n = {}, {}
    with open(path, "rb") as f:
        try:
            for r in StreamReader(f, skip_magic=False).records:
                if isinstance(r, Channel):
                    topics[r.id] = r.topic
                elif isinstance(r, Message):
                    n[topics[r.channel_id]] = n.get(topics[r.channel_id], 0) + 1
        except Exception:
            pass
    return n


def msgdef(ts, name):
    return ts.generate_msgdef(name, ros_version=2)[0]


def records(data):
    """(offset, opcode, length) of the top-level records after the magic."""
    off = 8
    while off + 9 <= len(data):
        op, ln = data[off], struct.unpack_from("<Q", data, off + 1)[0]
        yield off, op, ln
        off += 9 + ln


def chunk_middle(data):
    chunks = [(o, ln) for o, op, ln in records(data) if op == 0x06]
    o, ln = chunks[len(chunks) // 2]
    return o + 9 + ln // 2


def bad(kind, path):
    src = str(path) + ".src.mcap"
    write_mcap(src)
    data = bytearray(open(src, "rb").read())
    if kind == "notmcap":
        data = bytearray(b"PK\x03\x04" + b"this is a zip file, not an MCAP" * 10)
    elif kind in ("crc", "chunk"):
        chunks = [(o, ln) for o, op, ln in records(bytes(data)) if op == 0x06]
        o, ln = chunks[1]
        if kind == "crc":  # the chunk's uncompressed_crc (after opcode, length and three u64) is wrong
            data[o + 9 + 24] ^= 0xFF
        else:  # the chunk says its records are longer than the chunk
            body = o + 9 + 8 + 8 + 8 + 4
            cl = struct.unpack_from("<I", data, body)[0]
            struct.pack_into("<Q", data, body + 4 + cl, 1 << 40)
    elif kind == "schema":  # a JointState channel whose ros2msg text does not parse
        from mcap.writer import Writer
        f = open(path, "wb")
        w = Writer(f)
        w.start(profile="ros2", library="tw-test")
        sid = w.register_schema("sensor_msgs/msg/JointState", "ros2msg", b"std_msgs/Header header\nfloat64[ position\n")
        cid = w.register_channel("/joint_states", "cdr", sid)
        w.add_message(cid, T0, b"\x00\x01\x00\x00" + bytes(16), T0, 0)
        w.finish()
        f.close()
        return
    open(path, "wb").write(bytes(data))


def readback(path, out):
    import hashlib
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    got, sha = {}, {}
    with open(path, "rb") as f:
        r = make_reader(f, decoder_factories=[DecoderFactory()])
        summ = r.get_summary()
        got["compression"] = sorted({c.compression for c in summ.chunk_indexes})
        got["schemas"] = {s.name: s.encoding for s in summ.schemas.values()}
        for schema, ch, msg, dec in r.iter_decoded_messages():
            e = got.setdefault(ch.topic, {"type": schema.name, "enc": ch.message_encoding, "n": 0, "rows": [],
                                          "t_src": [], "log": []})
            e["n"] += 1
            e["log"].append(msg.log_time)
            sha.setdefault(ch.topic, hashlib.sha256()).update(msg.data)
            if schema.name == "sensor_msgs/msg/JointState":
                e["rows"].append([list(dec.position), list(dec.velocity), list(dec.effort)])
                e["names"] = list(dec.name)
            elif schema.name == "geometry_msgs/msg/WrenchStamped":
                f_, t_ = dec.wrench.force, dec.wrench.torque
                e["rows"].append([f_.x, f_.y, f_.z, t_.x, t_.y, t_.z])
            elif schema.name == "std_msgs/msg/Float64MultiArray":
                e["rows"].append(list(dec.data))
            elif "CompressedVideo" in schema.name:
                e["formats"] = sorted(set(e.get("formats", [])) | {dec.format})
                e["bytes"] = e.get("bytes", 0) + len(dec.data)
                e.setdefault("first_bytes", bytes(dec.data[:5]).hex())
            h = getattr(dec, "header", None) or dec
            st = getattr(h, "stamp", None) or getattr(h, "timestamp", None)
            if st is not None:
                e["t_src"].append(st.sec * 10**9 + st.nanosec)
    for topic, h in sha.items():
        got[topic]["sha256"] = h.hexdigest()
    json.dump(got, open(out, "w"))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "rosbag2":
        write_rosbag2(sys.argv[2])
    elif cmd == "mcapfile":
        write_mcap(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "full")
    elif cmd == "bad":
        bad(sys.argv[2], sys.argv[3])
    elif cmd == "readback":
        readback(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
