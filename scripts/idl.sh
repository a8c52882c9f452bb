#!/usr/bin/env bash
# Builds Ballast's Anchor IDL natively (the program's idl-build feature, as `anchor build`
# does, without anchor-cli) and writes idl/ballast.json.
#   scripts/idl.sh           regenerate idl/ballast.json
#   scripts/idl.sh --check   fail, with a diff, if idl/ballast.json is out of date
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/idl/ballast.json
check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  *) echo "usage: scripts/idl.sh [--check]" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Same environment as anchor-lang-idl's IdlBuilder (resolution on, lint on, docs kept).
# The workspace target dir is shared: the idl-build feature set gets its own artifacts,
# so only anchor-* and the program are compiled for it (no RUSTFLAGS change, no rebuild
# of the rest). The print tests run inside programs/ballast, which has no dev-deps.
if ! (cd "$root/programs/ballast" &&
      ANCHOR_IDL_BUILD_PROGRAM_PATH=$PWD ANCHOR_IDL_BUILD_RESOLUTION=TRUE \
      ANCHOR_IDL_BUILD_SKIP_LINT=FALSE ANCHOR_IDL_BUILD_NO_DOCS=FALSE \
      cargo test --locked -p ballast --lib --features idl-build __anchor_private_print_idl \
        -- --show-output --quiet >"$tmp/print.txt" 2>"$tmp/build.log"); then
  cat "$tmp/build.log" >&2
  echo "scripts/idl.sh: building the IDL failed (log above)" >&2
  exit 1
fi
python3 "$root/scripts/idl_assemble.py" "$tmp/ballast.json" <"$tmp/print.txt"

if $check; then
  if ! diff -u --label "idl/ballast.json (committed)" --label "idl/ballast.json (from the program)" \
       "$out" "$tmp/ballast.json"; then
    echo "scripts/idl.sh: idl/ballast.json is out of date with the program; run scripts/idl.sh and commit it" >&2
    exit 1
  fi
  echo "idl/ballast.json is up to date"
else
  mkdir -p "$(dirname "$out")"
  if cmp -s "$tmp/ballast.json" "$out"; then echo "idl/ballast.json unchanged"; else cp "$tmp/ballast.json" "$out"; echo "wrote idl/ballast.json"; fi
fi
