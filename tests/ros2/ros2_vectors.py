#!/usr/bin/env python3
"""Golden ROS 2 messages for tests/ros2, made at test time by real peers.

  ros2_vectors.py gen DIR    rosbags (rosbags.typesys / serialize_cdr, little and big endian) and
                             mcap-ros2-support (serialize_dynamic from the schema text) write CDR
                             vectors, JSON messages and the values the C tests must read back;
                             plus encoder inputs (enc_*.json) for test_ros2_encode.
  ros2_vectors.py check DIR  decodes what our encoder wrote (enc_*.out.cdr, schema_*.msg) with
                             rosbags and with mcap-ros2-support (from OUR schema text) and compares.
Needs: rosbags, mcap-ros2-support, foxglove-schemas-protobuf (pinned in the report of the ros2 helper)."""
import base64
import json
import math
import pathlib
import re
import sys
from types import SimpleNamespace

import numpy as np
from mcap_ros2._dynamic import generate_dynamic, serialize_dynamic
from rosbags.typesys import Stores, get_typestore, get_types_from_msg

SEP = "=" * 80 + "\n"
TS = None

# foxglove_msgs/msg/CompressedVideo as the foxglove schemas repository defines it
FOXGLOVE_VIDEO = "builtin_interfaces/Time timestamp\nstring frame_id\nuint8[] data\nstring format\n"

# A lab's own package: JointState's fields under another name, a wrench built from package-local
# short-named types, and every primitive/array form with comments, constants and defaults.
CUSTOM = {
    "acme_arm_msgs/msg/ArmJointState": "Header header # the ROS convention\nstring[] name\n"
    "float64[] position\nfloat64[] velocity\nfloat64[] effort\n",
    "acme_msgs/msg/ForceTorque": "Header header\nWrench wrench\n",
    "acme_msgs/msg/Wrench": "Vector3 force\nVector3 torque\n",
    "acme_msgs/msg/Vector3": "float64 x\nfloat64 y\nfloat64 z\n",
    "tw_test/msg/Inner": "int16 a\nfloat64[2] b # fixed\nstring s\n",
    "tw_test/msg/AllTypes": "# every builtin type\nint32 LIMIT=5\nstring NAME = \"x#y\"\n"
    "string<=8 label \"def\"\nbool flag\nint8 i8\nuint8 u8\nbyte b\nchar c\nint16 i16\nuint16 u16\n"
    "int32 i32\nuint32 u32\nint64 i64\nuint64 u64\nfloat32 f32\nfloat64 f64 1.5\nfloat64[3] fixed\n"
    "int16[<=4] bseq\nstring[] names\nstring<=5[2] fixedstr\nuint8[] blob\nInner one\nInner[] many\n"
    "Inner[2] pair\nbuiltin_interfaces/Duration d\nbool[] bits\nfloat32[] f32s\nHeader h\n",
}


def fields(msg):
    """A message's field names in schema order (constants and the type name left out)."""
    return [name for name, _ in TS.fielddefs[msg.__msgtype__][1]]


def typestore():
    global TS
    ts = TS = get_typestore(Stores.ROS2_HUMBLE)
    types = get_types_from_msg(FOXGLOVE_VIDEO, "foxglove_msgs/msg/CompressedVideo")
    for name, text in CUSTOM.items():
        types.update(get_types_from_msg(text, name))
    ts.register(types)
    return ts


def schema_text(ts, typename):
    """The schema as MCAP carries it: rosbags' own for the standard types; for the custom ones the
    hand-written text (short names, comments, constants, defaults) with its dependencies."""
    if typename == "acme_msgs/msg/ForceTorque":
        deps = ["acme_msgs/msg/Wrench", "acme_msgs/msg/Vector3"]
    elif typename == "tw_test/msg/AllTypes":
        deps = ["tw_test/msg/Inner"]
    elif typename in CUSTOM:
        deps = []
    else:
        return ts.generate_msgdef(typename, ros_version=2)[0]
    text = CUSTOM[typename]
    for d in deps:
        text += SEP + "MSG: " + d.replace("/msg/", "/") + "\n" + CUSTOM[d]
    return text


def stamp(ts, sec, nsec):
    return ts.types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nsec)


def header(ts, sec, nsec, frame):
    return ts.types["std_msgs/msg/Header"](stamp=stamp(ts, sec, nsec), frame_id=frame)


def f64(v):
    return np.array(v, dtype=np.float64)


def u8(v):
    return np.array(v, dtype=np.uint8)


def messages(ts):
    """(name, typename, message, expected kind)"""
    T = ts.types
    V3 = T["geometry_msgs/msg/Vector3"]
    Q = T["geometry_msgs/msg/Quaternion"]
    rng = np.random.default_rng(14)
    blob = u8(rng.integers(0, 256, 1001))
    out = []
    out.append(("joint_state", "sensor_msgs/msg/JointState", T["sensor_msgs/msg/JointState"](
        header=header(ts, 1700000000, 123456789, "base"), name=["shoulder", "elbow", "wrist_ü"],
        position=f64([0.5, -1.25, 3.0e-9]), velocity=f64([1.0, 2.0, -3.5]), effort=f64([])), "JointState"))
    out.append(("joint_state_empty", "sensor_msgs/msg/JointState", T["sensor_msgs/msg/JointState"](
        header=header(ts, -5, 999999999, ""), name=[], position=f64([]), velocity=f64([]), effort=f64([])),
        "JointState"))
    out.append(("wrench", "geometry_msgs/msg/WrenchStamped", T["geometry_msgs/msg/WrenchStamped"](
        header=header(ts, 12, 500, "ft_sensor"),
        wrench=T["geometry_msgs/msg/Wrench"](force=V3(x=1.5, y=-2.25, z=9.81), torque=V3(x=0.1, y=0.2, z=-0.3))),
        "WrenchStamped"))
    out.append(("imu", "sensor_msgs/msg/Imu", T["sensor_msgs/msg/Imu"](
        header=header(ts, 3, 7, "imu_link"), orientation=Q(x=0.0, y=0.0, z=0.7071, w=0.7071),
        orientation_covariance=f64(range(9)), angular_velocity=V3(x=0.01, y=0.02, z=0.03),
        angular_velocity_covariance=f64([0.5] * 9), linear_acceleration=V3(x=0.0, y=0.1, z=9.8),
        linear_acceleration_covariance=f64([-1.0] * 9)), "Imu"))
    out.append(("compressed_image", "sensor_msgs/msg/CompressedImage", T["sensor_msgs/msg/CompressedImage"](
        header=header(ts, 100, 1, "cam"), format="jpeg", data=blob), "CompressedImage"))
    out.append(("image_rgb8", "sensor_msgs/msg/Image", T["sensor_msgs/msg/Image"](
        header=header(ts, 101, 2, "cam"), height=3, width=4, encoding="rgb8", is_bigendian=0, step=12,
        data=u8(range(36))), "Image"))
    out.append(("image_mono8", "sensor_msgs/msg/Image", T["sensor_msgs/msg/Image"](
        header=header(ts, 102, 3, "cam"), height=2, width=3, encoding="mono8", is_bigendian=0, step=4,
        data=u8(range(8))), "Image"))
    out.append(("video", "foxglove_msgs/msg/CompressedVideo", T["foxglove_msgs/msg/CompressedVideo"](
        timestamp=stamp(ts, 200, 33), frame_id="cam", data=u8([0, 0, 0, 1, 0x67, 0x42] + list(blob[:97])),
        format="h264"), "CompressedVideo"))
    dim = T["std_msgs/msg/MultiArrayDimension"]
    out.append(("f64_array", "std_msgs/msg/Float64MultiArray", T["std_msgs/msg/Float64MultiArray"](
        layout=T["std_msgs/msg/MultiArrayLayout"](dim=[dim(label="joints", size=4, stride=4)], data_offset=0),
        data=f64([0.25, -0.5, 1e300, -0.0])), "Float64MultiArray"))
    P = T["trajectory_msgs/msg/JointTrajectoryPoint"]
    D = T["builtin_interfaces/msg/Duration"]
    out.append(("trajectory", "trajectory_msgs/msg/JointTrajectory", T["trajectory_msgs/msg/JointTrajectory"](
        header=header(ts, 55, 66, "world"), joint_names=["a", "b"],
        points=[P(positions=f64([1.0, 2.0]), velocities=f64([0.1, 0.2]), accelerations=f64([]), effort=f64([]),
                  time_from_start=D(sec=0, nanosec=500000000)),
                P(positions=f64([3.0, 4.0]), velocities=f64([]), accelerations=f64([]), effort=f64([5.0, 6.0]),
                  time_from_start=D(sec=1, nanosec=0))]), "JointTrajectory"))
    out.append(("arm_joint_state", "acme_arm_msgs/msg/ArmJointState", T["acme_arm_msgs/msg/ArmJointState"](
        header=header(ts, 9, 8, "arm"), name=["j1"], position=f64([0.75]), velocity=f64([0.0]),
        effort=f64([-1.0])), "JointState"))
    out.append(("force_torque", "acme_msgs/msg/ForceTorque", T["acme_msgs/msg/ForceTorque"](
        header=header(ts, 10, 11, "ft"), wrench=T["acme_msgs/msg/Wrench"](
            force=T["acme_msgs/msg/Vector3"](x=1.0, y=2.0, z=3.0),
            torque=T["acme_msgs/msg/Vector3"](x=4.0, y=5.0, z=6.0))), "WrenchStamped"))
    inner = T["tw_test/msg/Inner"]
    out.append(("all_types", "tw_test/msg/AllTypes", T["tw_test/msg/AllTypes"](
        label="abc", flag=True, i8=-128, u8=255, b=7, c=65, i16=-32768, u16=65535, i32=-2147483648,
        u32=4294967295, i64=-(2 ** 63), u64=2 ** 40 + 3, f32=-3.5, f64=1e-300,
        fixed=f64([1.0, 2.0, 3.0]), bseq=np.array([-1, 2, -3], dtype=np.int16), names=["", "x", "yz"],
        fixedstr=["ab", "cdefg"], blob=u8([]), one=inner(a=3, b=f64([0.5, 0.25]), s="one"),
        many=[inner(a=-1, b=f64([1.0, 2.0]), s=""), inner(a=2, b=f64([3.0, 4.0]), s="two")],
        pair=[inner(a=5, b=f64([5.5, 6.5]), s="p0"), inner(a=6, b=f64([7.5, 8.5]), s="p1")],
        d=D(sec=-1, nanosec=5), bits=np.array([True, False, True], dtype=np.bool_),
        f32s=np.array([0.5, -0.25], dtype=np.float32), h=header(ts, 1, 2, "h")), None))
    return out


def checks(msg, prefix=""):
    """Every leaf of a message as a check on its path."""
    out = []
    for field in fields(msg):
        v = getattr(msg, field)
        path = prefix + field
        if hasattr(v, "__dataclass_fields__"):
            if set(v.__dataclass_fields__) >= {"sec", "nanosec"}:
                out.append({"path": path, "time": v.sec * 1_000_000_000 + v.nanosec})
            out += checks(v, path + ".")
        elif isinstance(v, np.ndarray):
            if v.dtype == np.uint8:  # the hex check covers the length (a JSON string's count is its base64)
                out.append({"path": path, "hex": v.tobytes().hex()})
            else:
                out.append({"path": path, "f64s": [float(x) for x in v]})
                out.append({"path": path, "count": int(v.size)})
        elif isinstance(v, list):
            out.append({"path": path, "count": len(v)})
            for i, e in enumerate(v):
                if isinstance(e, str):
                    out.append({"path": f"{path}[{i}]", "str": e})
                else:
                    out += checks(e, f"{path}[{i}].")
        elif isinstance(v, str):
            out.append({"path": path, "str": v})
        elif isinstance(v, (bool, np.bool_)):
            out.append({"path": path, "i64": int(v)})
        elif isinstance(v, (int, np.integer)):
            out.append({"path": path, "i64": int(v)} if int(v) < 2 ** 63 else {"path": path, "f64": float(v)})
        else:
            out.append({"path": path, "f64": float(v)})
    return out


def plain(msg):
    """The message as mcap-ros2-support's encoder takes it: attributes, lists, bytes."""
    out = SimpleNamespace()
    for field in fields(msg):
        v = getattr(msg, field)
        if hasattr(v, "__dataclass_fields__"):
            v = plain(v)
        elif isinstance(v, np.ndarray):
            v = v.tobytes() if v.dtype == np.uint8 else v.tolist()
        elif isinstance(v, list):
            v = [e if isinstance(e, str) else plain(e) for e in v]
        setattr(out, field, v)
    return out


def to_json(msg):
    """The message as a JSON channel carries it: bytes base64, times {sec, nanosec}."""
    out = {}
    for field in fields(msg):
        v = getattr(msg, field)
        if hasattr(v, "__dataclass_fields__"):
            out[field] = to_json(v)
        elif isinstance(v, np.ndarray):
            out[field] = base64.b64encode(v.tobytes()).decode() if v.dtype == np.uint8 else v.tolist()
        elif isinstance(v, list):
            out[field] = [e if isinstance(e, str) else to_json(e) for e in v]
        else:
            out[field] = v.item() if isinstance(v, np.generic) else v
    return out


def gen(d):
    ts = typestore()
    names = []
    for name, typename, msg, kind in messages(ts):
        text = schema_text(ts, typename)
        vec = {"type": typename, "schema": text, "kind": kind, "checks": checks(msg), "cdr": {}}
        for enc, le in (("le", True), ("be", False)):
            (d / f"{name}.{enc}.cdr").write_bytes(bytes(ts.serialize_cdr(msg, typename, little_endian=le)))
            vec["cdr"][enc] = f"{name}.{enc}.cdr"
        # mcap-ros2-support needs every dependency spelled out and knows no ROS 1 style short
        # `Header`; our parser has both built in
        full = text if typename not in CUSTOM else re.sub(r"^Header ", "std_msgs/Header ", text, flags=re.M) + "".join(
            SEP + "MSG: " + t + "\n" + ts.generate_msgdef(t.replace("/", "/msg/"), ros_version=2)[0].split(SEP)[0]
            for t in ("std_msgs/Header", "builtin_interfaces/Time", "builtin_interfaces/Duration"))
        short = typename.replace("/msg/", "/")
        m2 = serialize_dynamic(short, full)[short](plain(msg))
        (d / f"{name}.m2.cdr").write_bytes(m2)
        vec["cdr"]["mcap_ros2"] = f"{name}.m2.cdr"
        vec["json"] = to_json(msg)
        (d / f"{name}.json").write_text(json.dumps(vec))
        names.append(name)
    # foxglove.CompressedVideo on a JSON channel (Foxglove's JSON schema: timestamp {sec, nsec})
    fox = {"timestamp": {"sec": 300, "nsec": 5}, "frame_id": "front", "format": "h264",
           "data": base64.b64encode(bytes([0, 0, 0, 1, 0x65, 0x88])).decode()}
    (d / "foxglove_video.json").write_text(json.dumps({"type": "foxglove.CompressedVideo", "kind": "CompressedVideo",
        "json": fox, "checks": [{"path": "timestamp", "time": 300_000_000_005}, {"path": "format", "str": "h264"},
                                {"path": "data", "hex": "0000000165" + "88"}, {"path": "frame_id", "str": "front"}]}))
    names.append("foxglove_video")
    # foxglove.CompressedVideo in protobuf, from Foxglove's own compiled schema
    from foxglove_schemas_protobuf.CompressedVideo_pb2 import CompressedVideo
    pb = CompressedVideo(frame_id="front", data=bytes([0, 0, 0, 1, 0x65, 0x88, 0x84]), format="h264")
    pb.timestamp.seconds, pb.timestamp.nanos = 1700000000, 999999999
    (d / "pb_video.bin").write_bytes(pb.SerializeToString())
    (d / "pb_video.expect.json").write_text(json.dumps({"stamp_ns": 1700000000_999999999, "format": "h264",
                                                        "hex": pb.data.hex()}))
    (d / "vectors.json").write_text(json.dumps(names))
    enc = {
        "joint_state": {"stamp_ns": 1700000000123456789, "frame_id": "base", "name": ["a", "bb", "ccc"],
                        "position": [0.5, -1.5, 2.0], "velocity": [0.0, 1e-12, -7.0], "effort": [3.0, 2.0, 1.0]},
        "joint_state_empty": {"stamp_ns": -1, "frame_id": "", "name": [], "position": [], "velocity": [],
                              "effort": []},
        "wrench": {"stamp_ns": 42, "frame_id": "ft", "force": [1.0, -2.0, 3.5], "torque": [0.0, 0.25, -9.0]},
        "f64_array": {"data": [1.0, 2.5, -3.0], "label": "joints"},
        "f64_array_nodim": {"data": [], "label": None},
        "video": {"stamp_ns": 5_000_000_001, "frame_id": "cam", "format": "h264",
                  "data": bytes([0, 0, 0, 1, 0x67, 1, 2, 3, 4]).hex()},
    }
    (d / "enc.json").write_text(json.dumps(enc))


ENC_TYPES = {"joint_state": "sensor_msgs/msg/JointState", "joint_state_empty": "sensor_msgs/msg/JointState",
             "wrench": "geometry_msgs/msg/WrenchStamped", "f64_array": "std_msgs/msg/Float64MultiArray",
             "f64_array_nodim": "std_msgs/msg/Float64MultiArray", "video": "foxglove_msgs/msg/CompressedVideo"}


def same(a, b):
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=0, abs_tol=0))


def expect_fields(name, e):
    """(getter over a decoded message, expected) pairs for one encoder case."""
    t = lambda m: m.header.stamp.sec * 1_000_000_000 + m.header.stamp.nanosec
    if name.startswith("joint_state"):
        return [(t, e["stamp_ns"]), (lambda m: m.header.frame_id, e["frame_id"]), (lambda m: list(m.name), e["name"]),
                (lambda m: [float(x) for x in m.position], e["position"]),
                (lambda m: [float(x) for x in m.velocity], e["velocity"]),
                (lambda m: [float(x) for x in m.effort], e["effort"])]
    if name == "wrench":
        v = lambda k: (lambda m: [float(getattr(getattr(m.wrench, k), a)) for a in "xyz"])
        return [(t, e["stamp_ns"]), (lambda m: m.header.frame_id, e["frame_id"]), (v("force"), e["force"]),
                (v("torque"), e["torque"])]
    if name.startswith("f64_array"):
        dims = [] if e["label"] is None else [(e["label"], len(e["data"]), len(e["data"]))]
        return [(lambda m: [float(x) for x in m.data], e["data"]),
                (lambda m: [(x.label, x.size, x.stride) for x in m.layout.dim], dims),
                (lambda m: m.layout.data_offset, 0)]
    return [(lambda m: m.timestamp.sec * 1_000_000_000 + m.timestamp.nanosec, e["stamp_ns"]),
            (lambda m: m.frame_id, e["frame_id"]), (lambda m: m.format, e["format"]),
            (lambda m: bytes(m.data).hex(), e["data"])]


def read_schema(f):
    """schema_<Type>.msg as test_ros2_encode writes it: the MCAP schema name, a newline, the text."""
    typename, text = f.read_text().split("\n", 1)
    return typename, text


def check(d):
    ts = typestore()
    enc = json.loads((d / "enc.json").read_text())
    bad = 0
    for name, e in enc.items():
        typename = ENC_TYPES[name]
        raw = (d / f"enc_{name}.out.cdr").read_bytes()
        ours = read_schema(d / ("schema_" + typename.split("/")[-1] + ".msg"))[1]
        peers = {"rosbags": ts.deserialize_cdr(raw, typename),
                 "mcap_ros2": generate_dynamic(typename.replace("/msg/", "/"), ours)[typename.replace("/msg/", "/")](raw)}
        for peer, m in peers.items():
            for get, want in expect_fields(name, e):
                got = get(m)
                if not same(got, want):
                    print(f"check {name} via {peer}: got {got!r}, want {want!r}")
                    bad += 1
    # our canonical schema texts describe the same fields as rosbags' own definitions
    for f in sorted(d.glob("schema_*.msg")):
        typename, text = read_schema(f)
        sections = text.split(SEP)
        mine = {typename: sections[0]}
        for s in sections[1:]:
            head, body = s.split("\n", 1)
            mine[head[5:].replace("/", "/msg/")] = body
        for tn, body in mine.items():
            got = get_types_from_msg(body, tn)[tn]
            if tn in ts.fielddefs and got != ts.fielddefs[tn]:
                print(f"schema {tn}: ours {got} != rosbags {ts.fielddefs[tn]}")
                bad += 1
    print(f"ros2_vectors check: {bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    cmd, out = sys.argv[1], pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    sys.exit(gen(out) if cmd == "gen" else check(out))
