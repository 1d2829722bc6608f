"""Reads and decodes every message of an MCAP file with Foxglove's Python mcap + mcap-ros2-support
(what a Python importer would have to do) and prints "messages seconds"."""
import sys
import time

from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

t0 = time.perf_counter()
n = 0
with open(sys.argv[1], "rb") as f:
    for _ in make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages(log_time_order=True):
        n += 1
print(n, f"{time.perf_counter() - t0:.6f}")
