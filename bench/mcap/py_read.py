"""Reads every message of an MCAP file with Foxglove's Python mcap reader (log-time order, as
ours) and prints "messages payload_bytes seconds"."""
import sys
import time

from mcap.reader import make_reader

t0 = time.perf_counter()
n = b = 0
with open(sys.argv[1], "rb") as f:
    for _, _, m in make_reader(f).iter_messages(log_time_order=True):
        n += 1
        b += len(m.data)
print(n, b, f"{time.perf_counter() - t0:.6f}")
