#!/usr/bin/env python3
"""Checks schemas/examples against the JSON Schemas and the C decoder.

usage: check_examples.py TW_DECODE_CHECK SCHEMAS_DIR

* every schema is a valid draft 2020-12 schema;
* every examples/*.json is valid against the schema of its `type` and against
  message.schema.json, and the C decoder accepts it;
* every examples/invalid/*.json fails message.schema.json (or is not even JSON/UTF-8
  with unique keys), and the C decoder rejects it;
* every message type has at least one valid example and one schema.
"""
import glob, json, os, subprocess, sys

import jsonschema
from jsonschema import Draft202012Validator


def strict_load(path):
    """Loads JSON as the protocol defines it: UTF-8 and no duplicate keys."""
    def no_dups(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError("duplicate key")
        return dict(pairs)
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"), object_pairs_hook=no_dups)


def main():
    tool, sdir = sys.argv[1], sys.argv[2]
    schemas = {}
    for p in sorted(glob.glob(os.path.join(sdir, "*.schema.json"))):
        s = strict_load(p)
        Draft202012Validator.check_schema(s)
        schemas[os.path.basename(p)[:-len(".schema.json")]] = s
    store = {s["$id"]: s for s in schemas.values()}

    def validator(name):
        s = schemas[name]
        resolver = jsonschema.RefResolver(base_uri=s["$id"], referrer=s, store=store)
        return Draft202012Validator(s, resolver=resolver)

    anymsg = validator("message")
    types = anymsg.schema["properties"]["type"]["enum"]
    failures = []
    valid = sorted(glob.glob(os.path.join(sdir, "examples", "*.json")))
    invalid = sorted(glob.glob(os.path.join(sdir, "examples", "invalid", "*.json")))
    seen = set()
    for p in valid:
        doc = strict_load(p)
        t = doc.get("type")
        seen.add(t)
        if t not in schemas:
            failures.append(f"{p}: no schema for type {t!r}")
            continue
        for name in (t, "message"):
            errs = sorted(validator(name).iter_errors(doc), key=str)
            if errs:
                failures.append(f"{p}: invalid against {name}.schema.json: {errs[0].message}")
    for t in types:
        if t not in seen:
            failures.append(f"no valid example of type {t}")
        if t not in schemas:
            failures.append(f"no schema for type {t}")
    for p in invalid:
        try:
            doc = strict_load(p)
        except (ValueError, UnicodeDecodeError):
            continue  # not UTF-8 JSON with unique keys: invalid by construction
        if anymsg.is_valid(doc):
            failures.append(f"{p}: expected the schema to reject it, but it validates")
    for flag, files in (("--valid", valid), ("--invalid", invalid)):
        r = subprocess.run([tool, flag] + files, capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        if r.returncode != 0:
            failures.append(f"C decoder disagrees ({flag}): " +
                            "; ".join(l for l in r.stdout.splitlines() if "MISMATCH" in l) + r.stderr)
    print(f"{len(valid)} valid and {len(invalid)} invalid examples, {len(schemas)} schemas")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
