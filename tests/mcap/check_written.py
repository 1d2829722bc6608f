#!/usr/bin/env python3
"""Reads an MCAP file written by tw_mcap with Foxglove's Python `mcap` and compares it with the
JSON description the writer test made of what it wrote: schemas, channels, messages (log-time
order), metadata, attachments, compression and indexes. Exit 0 when identical.

Usage: check_written.py FILE.mcap EXPECT.json"""
import json
import sys

from mcap.reader import make_reader


def fail(what, got, want):
    sys.exit(f"check_written: {what}: got {got!r}, want {want!r}")


def main():
    path, exp = sys.argv[1], json.load(open(sys.argv[2]))
    with open(path, "rb") as f:
        r = make_reader(f)
        s = r.get_summary()
        if r.get_header().profile != exp["profile"]:
            fail("profile", r.get_header().profile, exp["profile"])
        got = {k: [v.name, v.encoding, v.data.hex()] for k, v in s.schemas.items()}
        want = {e["id"]: [e["name"], e["encoding"], e["data"]] for e in exp["schemas"]}
        if got != want:
            fail("schemas", got, want)
        got = {k: [v.topic, v.message_encoding, v.schema_id, dict(v.metadata)] for k, v in s.channels.items()}
        want = {e["id"]: [e["topic"], e["encoding"], e["schema_id"], e["metadata"]] for e in exp["channels"]}
        if got != want:
            fail("channels", got, want)
        got = [[m.channel_id, m.sequence, m.log_time, m.publish_time, bytes(m.data).hex()]
               for _, _, m in r.iter_messages(log_time_order=True)]
        if got != exp["messages"]:
            fail(f"messages ({len(got)} read)", got[:3], exp["messages"][:3])
        got = [[m.name, dict(m.metadata)] for m in r.iter_metadata()]
        if got != exp["metadata"]:
            fail("metadata", got, exp["metadata"])
        got = [[a.name, a.media_type, a.log_time, a.create_time, bytes(a.data).hex()] for a in r.iter_attachments()]
        if got != exp["attachments"]:
            fail("attachments", got, exp["attachments"])
        comp = sorted({c.compression for c in s.chunk_indexes})
        if comp != exp["chunk_compression"]:
            fail("chunk compression", comp, exp["chunk_compression"])
        if exp["chunk_compression"] and len(s.chunk_indexes) < 2:
            fail("chunk count (chunk size option ignored?)", len(s.chunk_indexes), ">= 2")
        if s.statistics.message_count != len(exp["messages"]):
            fail("statistics message count", s.statistics.message_count, len(exp["messages"]))
    print(f"check_written: {path}: identical ({len(exp['messages'])} messages)")


if __name__ == "__main__":
    main()
