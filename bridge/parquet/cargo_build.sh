#!/bin/sh
# Runs cargo for meson (meson.build): silent on success, cargo's output on failure.
# Usage: cargo_build.sh CARGO MANIFEST TARGET_DIR OUTPUT [RUSTFLAGS]
# With RUSTFLAGS (the fuzz build's coverage flags) the host triple is passed as --target, so the flags
# reach the library but not build scripts and proc-macros, which would not link without the fuzzer.
# TW_CARGO_TARGET_DIR, when set, replaces TARGET_DIR: build dirs with the same flags (build/ and
# build-asan/: the sanitizers apply to the C side only) then share one cold build of the crates.
set -u
cargo=$1 manifest=$2 dir=${TW_CARGO_TARGET_DIR:-$3} output=$4 flags=${5:-}
built=$dir/release/libtw_parquet.a
set -- build --release --locked --quiet --manifest-path "$manifest" --target-dir "$dir"
if [ -n "$flags" ]; then
  rustc=$(dirname "$cargo")/rustc
  [ -x "$rustc" ] || rustc=rustc
  host=$("$rustc" -vV | sed -n 's/^host: //p')
  set -- "$@" --target "$host"
  built=$dir/$host/release/libtw_parquet.a
  export RUSTFLAGS="$flags"
fi
if ! out=$("$cargo" "$@" 2>&1); then
  echo "$out" >&2
  exit 1
fi
cp "$built" "$output"
