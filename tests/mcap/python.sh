#!/bin/sh
# Prints a Python that has Foxglove's mcap and mcap-ros2-support at the pinned versions:
# the project's .venv if it has them, else a venv of our own under ${TMPDIR:-/tmp} (created once).
set -e
root=${TW_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
pins="mcap==1.6.0 mcap-ros2-support==0.6.0"
check='import importlib.metadata as m; assert m.version("mcap") == "1.6.0" and m.version("mcap-ros2-support") == "0.6.0"'
for py in "$root/.venv/bin/python" "${TMPDIR:-/tmp}/tw-mcap-venv/bin/python"; do
  if [ -x "$py" ] && "$py" -c "$check" 2>/dev/null; then echo "$py"; exit 0; fi
done
venv=${TMPDIR:-/tmp}/tw-mcap-venv
python3 -m venv --system-site-packages "$venv" >&2
"$venv/bin/pip" install -q $pins >&2
"$venv/bin/python" -c "$check"
echo "$venv/bin/python"
