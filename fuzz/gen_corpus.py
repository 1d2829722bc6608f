#!/usr/bin/env python3
"""Writes the fuzz seed corpus (fuzz/corpus/): binary messages that match the stream
table in fuzz_decode.c, plus control messages of every type, including server replies.
Byte layout of a frame: schemas/protocol.md, "Binary frames"."""
import json, os, struct, sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
os.makedirs(out, exist_ok=True)


def frame(sid, payload, seq=0, t=1_000_000_000, flags=0):
    return struct.pack("<HHIQq", sid, flags, len(payload), seq, t) + payload


def put(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


js = struct.pack("<21d", *[i * 0.1 for i in range(21)])
put("frames_joint.bin", b"".join(frame(1, js, seq=i, t=i * 2_000_000) for i in range(3)))
put("frames_mixed.bin", frame(2, struct.pack("<6f", 1, 2, 3, 4, 5, 6)) + frame(3, struct.pack("<8f", *range(8)))
    + frame(5, struct.pack("<10f", 1, 0, 0, 0, 0, 0, 0, 0, 0, 9.81)) + frame(6, bytes(range(6))))
put("frames_video.bin", frame(4, b"\x00\x00\x00\x01\x67\x42\x00\x1e\x00\x00\x01\x65\x88\x84", flags=1)
    + frame(8, b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\xff\xd9") + frame(9, bytes(24), flags=2))
put("frames_event.bin", frame(7, b'{"kind":"grasp","label":"red cube"}'))
put("frames_truncated.bin", frame(1, js)[:100])

msgs = {
    "hello": {"type": "hello", "client": "tw-rig", "version": "0.1.0", "rig": "panda-01", "streams": [
        {"id": 1, "name": "arm", "kind": "joint_state", "dtype": "float64", "shape": [3, 7],
         "axes": [f"joint{i}" for i in range(1, 8)], "units": "rad;rad/s;N*m", "rate_hz": 500},
        {"id": 4, "name": "cam", "kind": "video", "dtype": "bytes", "rate_hz": 30, "encoding": "h264",
         "width": 640, "height": 480, "frame": "wrist_cam"},
        {"id": 7, "name": "events", "kind": "event", "dtype": "bytes", "rate_hz": 1}]},
    "episode_start": {"type": "episode_start", "task": "pick cube", "operator": "alice", "robot": "panda",
                      "metadata": {"scene": "table"}},
    "episode_stop": {"type": "episode_stop", "success": True},
    "episode_abort": {"type": "episode_abort", "reason": "e-stop"},
    "annotate": {"type": "annotate", "t_src_ns": 123456789, "label": "grasp", "data": {"object": "cube"}},
    "metadata": {"type": "metadata", "metadata": {"success": False}},
    "ping": {"type": "ping", "id": 7, "t0_ns": 1700000000000000000},
    "pong": {"type": "pong", "id": 7, "t0_ns": 1, "t1_ns": 2, "t2_ns": 3},
    "welcome": {"type": "welcome", "protocol": "teleworld.v1", "session_id": "s1", "max_binary": 16777216,
                "max_text": 262144, "status_interval_ms": 1000},
    "ack": {"type": "ack", "what": "episode_start", "episode_id": "e1"},
    "status": {"type": "status", "episode_id": "e1", "queue_bytes": 10, "queue_cap_bytes": 100,
               "write_lag_ms": 1.5, "clock_offset_ns": -5, "streams": [
                   {"id": 1, "received": 5, "written": 4, "dropped": 1, "gaps": 0, "bytes": 840}]},
    "error": {"type": "error", "code": "UNKNOWN_STREAM", "message": "frame 0 at byte 0: ...", "fatal": True},
}
for name, m in msgs.items():
    put(f"msg_{name}.json", json.dumps(m, separators=(",", ":")))
put("decl_joint.json", json.dumps(msgs["hello"]["streams"][0]))
put("msg_bad_utf8.json", b'{"type":"episode_abort","reason":"\xc3\x28"}')
# Malformed server replies a client must survive (issue 3): truncated, wrong types, out of range.
put("reply_status_truncated.json", json.dumps(msgs["status"])[:60])
put("reply_error_badtypes.json", '{"type":"error","code":7,"message":null,"fatal":"yes"}')
put("reply_welcome_huge.json", '{"type":"welcome","protocol":"teleworld.v1","session_id":"' + "s" * 300
    + '","max_binary":1e300,"max_text":-1,"status_interval_ms":18446744073709551616}')
put("reply_status_streams_overflow.json", json.dumps(dict(msgs["status"], streams=[
    {"id": i, "received": 1, "written": 1, "dropped": 0, "gaps": 0, "bytes": 1} for i in range(80)])))
put("reply_unknown_type.json", '{"type":"teleport","to":"mars"}')
