#!/usr/bin/env python3
"""Writes the MCAP fixtures of tests/mcap with Foxglove's Python `mcap` and `mcap-ros2-support`,
and expect.json: what Python's own reader finds in each file (message count, an order-independent
checksum, channels, schemas, metadata, attachments, and for the damaged files where they break).

Usage: gen_mcap.py OUTDIR"""
import json
import os
import shutil
import struct
import sys
import zlib

from mcap.reader import make_reader
from mcap.stream_reader import StreamReader
from mcap.records import Message, Chunk
from mcap.writer import CompressionType, Writer
from mcap_ros2.writer import Writer as Ros2Writer

SEP = "=" * 80 + "\n"
HEADER_DEFS = (SEP + "MSG: std_msgs/Header\nbuiltin_interfaces/Time stamp\nstring frame_id\n"
               + SEP + "MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec\n")
JOINT_STATE = ("std_msgs/Header header\nstring[] name\nfloat64[] position\nfloat64[] velocity\nfloat64[] effort\n"
               + HEADER_DEFS)
WRENCH = ("std_msgs/Header header\ngeometry_msgs/Wrench wrench\n" + HEADER_DEFS
          + SEP + "MSG: geometry_msgs/Wrench\nVector3 force\nVector3 torque\n"
          + SEP + "MSG: geometry_msgs/Vector3\nfloat64 x\nfloat64 y\nfloat64 z\n")
T0 = 1_700_000_000_000_000_000
N = 1500


def stamp(t):
    return {"sec": t // 10**9, "nanosec": t % 10**9}


def ros2_file(path, compression, finish=True):
    """A rosbag-like file: joint states, wrenches, and a late topic whose messages are logged
    50 steps behind their write order, so chunks overlap in log time."""
    f = open(path, "wb")
    w = Ros2Writer(f, chunk_size=32 * 1024, compression=compression)
    js = w.register_msgdef("sensor_msgs/msg/JointState", JOINT_STATE)
    wr = w.register_msgdef("geometry_msgs/msg/WrenchStamped", WRENCH)
    for i in range(N):
        t = T0 + i * 1_000_000
        w.write_message("/joint_states", js, {"header": {"stamp": stamp(t), "frame_id": "base"},
                        "name": ["j1", "j2"], "position": [i * 0.001, -i * 0.002], "velocity": [0.5, 0.25],
                        "effort": []}, log_time=t + 17, publish_time=t, sequence=i)
        w.write_message("/wrench", wr, {"header": {"stamp": stamp(t), "frame_id": "tool"},
                        "wrench": {"force": {"x": 1.0, "y": i * 1.0, "z": -9.81}, "torque": {"x": 0.0, "y": 0.0, "z": 0.1}}},
                        log_time=t + 23, publish_time=t, sequence=i)
        if i >= 50:
            tl = T0 + (i - 50) * 1_000_000
            w.write_message("/late", js, {"header": {"stamp": stamp(tl), "frame_id": "late"}, "name": ["x"],
                            "position": [float(i)], "velocity": [], "effort": []}, log_time=tl + 5, publish_time=tl, sequence=i)
    if finish:
        w.add_metadata("rig", {"robot": "ur5e", "operator": "ada"})
        w.add_metadata("calibration", {"offset": "0.25"})
        w.add_attachment(T0, T0 + 1, "urdf.xml", "application/xml", b"<robot name='ur5e'/>" * 50)
        w.add_attachment(T0, T0 + 2, "blob.bin", "application/octet-stream", bytes(range(256)) * 40)
        w.finish()
    else:
        # a killed recorder: chunks written so far reach the disk, no summary, no footer
        w._writer._Writer__stream.flush()
    f.close()


def plain_unchunked(path):
    w = Writer(path, use_chunking=False)
    w.start(profile="", library="tw-test")
    s = w.register_schema("Pose", "jsonschema", b'{"type":"object"}')
    a = w.register_channel("/pose", "json", s, {"frame": "map"})
    b = w.register_channel("/raw", "application/octet-stream", 0)
    for i in range(500):
        w.add_message(a, T0 + i * 10, json.dumps({"x": i}).encode(), T0 + i * 10, i)
        w.add_message(b, T0 + i * 10 + 5, bytes([i % 256]) * (i % 37), T0 + i * 10, i)
    w.add_metadata("note", {"k": "v"})
    w.finish()


def msg_sum(msgs):
    s = 0
    for m in msgs:
        s += zlib.crc32(struct.pack("<HIQQ", m.channel_id, m.sequence, m.log_time, m.publish_time) + bytes(m.data))
    return s % 2**64


def stream_messages(path):
    """Messages Python's stream reader yields before the file ends or breaks."""
    out = []
    with open(path, "rb") as f:
        try:
            for r in StreamReader(f, skip_magic=False).records:
                if isinstance(r, Message):
                    out.append(r)
        except Exception:
            pass
    return out


def describe(path):
    with open(path, "rb") as f:
        r = make_reader(f)
        s = r.get_summary()
        msgs = [m for _, _, m in r.iter_messages(log_time_order=True)]
        d = {"messages": len(msgs), "checksum": msg_sum(msgs),
             "profile": r.get_header().profile,
             "schemas": {str(k): {"name": v.name, "encoding": v.encoding, "crc": zlib.crc32(v.data)} for k, v in s.schemas.items()},
             "channels": {str(k): {"topic": v.topic, "encoding": v.message_encoding, "schema_id": v.schema_id,
                                   "metadata": v.metadata} for k, v in s.channels.items()},
             "metadata": [{"name": m.name, "metadata": m.metadata} for m in r.iter_metadata()],
             "attachments": [{"name": a.name, "media_type": a.media_type, "log_time": a.log_time,
                              "create_time": a.create_time, "len": len(a.data), "crc": zlib.crc32(a.data)}
                             for a in r.iter_attachments()],
             "chunks": [[c.chunk_start_offset, c.chunk_length] for c in s.chunk_indexes]}
    return d


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    p = lambda n: os.path.join(out, n)
    ros2_file(p("indexed_zstd.mcap"), CompressionType.ZSTD)
    ros2_file(p("indexed_lz4.mcap"), CompressionType.LZ4)
    plain_unchunked(p("unchunked.mcap"))
    ros2_file(p("nosummary.mcap"), CompressionType.ZSTD, finish=False)
    expect = {n: describe(p(n)) for n in ["indexed_zstd.mcap", "indexed_lz4.mcap", "unchunked.mcap"]}
    ms = stream_messages(p("nosummary.mcap"))
    expect["nosummary.mcap"] = {"messages": len(ms), "checksum": msg_sum(ms), "stop_offset": os.path.getsize(p("nosummary.mcap"))}

    # cut in the middle of the fourth chunk
    start, length = expect["indexed_zstd.mcap"]["chunks"][3]
    with open(p("indexed_zstd.mcap"), "rb") as f:
        data = f.read()
    with open(p("cut.mcap"), "wb") as f:
        f.write(data[: start + length // 2])
    ms = stream_messages(p("cut.mcap"))
    expect["cut.mcap"] = {"messages": len(ms), "checksum": msg_sum(ms), "stop_offset": start}

    # wrong uncompressed CRC in the second chunk (opcode 1 + length 8 + times 16 + size 8)
    start, _ = expect["indexed_zstd.mcap"]["chunks"][1]
    b = bytearray(data)
    struct.pack_into("<I", b, start + 33, struct.unpack_from("<I", b, start + 33)[0] ^ 0xDEADBEEF)
    open(p("badcrc.mcap"), "wb").write(b)
    expect["badcrc.mcap"] = {"chunk_offset": start}
    # garbled compressed bytes in the third chunk
    start, length = expect["indexed_zstd.mcap"]["chunks"][2]
    b = bytearray(data)
    for i in range(start + 80, start + 120):
        b[i] ^= 0x5A
    open(p("corrupt.mcap"), "wb").write(b)
    expect["corrupt.mcap"] = {"chunk_offset": start}
    # a flipped byte in the summary section (the footer's summary CRC catches it)
    sstart = struct.unpack_from("<Q", data, len(data) - 37 + 9)[0]
    b = bytearray(data)
    b[sstart + 20] ^= 0x01
    open(p("badsummary.mcap"), "wb").write(b)
    expect["badsummary.mcap"] = {"summary_offset": sstart}
    # the same damage in a file without summary: found while scanning at open
    nos = open(p("nosummary.mcap"), "rb").read()
    cstart = 8 + 9 + struct.unpack_from("<Q", nos, 9)[0]  # the record after the header
    assert nos[cstart] == 0x06, "the Python writer put a chunk right after the header"
    b = bytearray(nos)
    struct.pack_into("<I", b, cstart + 33, struct.unpack_from("<I", b, cstart + 33)[0] ^ 0x1)
    open(p("nosummary_badcrc.mcap"), "wb").write(b)
    expect["nosummary_badcrc.mcap"] = {"chunk_offset": cstart}
    with open(p("notmcap.mcap"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + bytes(100))
    import mcap, importlib.metadata as md
    expect["versions"] = {"mcap": md.version("mcap"), "mcap-ros2-support": md.version("mcap-ros2-support")}
    with open(p("expect.json"), "w") as f:
        json.dump(expect, f, indent=1)


if __name__ == "__main__":
    main()
