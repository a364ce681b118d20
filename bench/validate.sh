#!/usr/bin/env bash
# What validation adds to an export (issue 10, item 2): a whole `dcmdisc export --from-folder`
# of a generated CT series (N slices of ~0.5 MB, one volume), per round: the wall time of the
# export, its `writing` and `validating` stages (--timings), and for reference the time
# `openssl dgst -sha256` and `sha256sum` take to hash the same image.
# With BASE=/path/to/dcmdisc (a build without validation, e.g. of the commit before it was
# wired in) each round also runs that binary, alternated, for the difference in wall time.
# Usage: bench/validate.sh [N=1200] [ROUNDS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1200}
ROUNDS=${2:-5}
BIN=target/release/dcmdisc
[ -x "$BIN" ] || cargo build --release -p dcmdisc
DATA=bench/out/validate-$N
if [ ! -f "$DATA/.complete" ]; then
  rm -rf "$DATA"; mkdir -p "$DATA"
  python3 bench/gen_ct.py series "$DATA/ct" --count "$N"
  touch "$DATA/.complete"
fi
OUT=$(mktemp -d /tmp/validate-bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
cat "$DATA"/ct/* > /dev/null  # warm the page cache
now() { date +%s.%N; }
for r in $(seq "$ROUNDS"); do
  for b in ${BASE:+base} dcmdisc; do
    bin=$BIN; [ "$b" = base ] && bin=$BASE
    rm -rf "$OUT/v"
    s=$(now)
    "$bin" export --from-folder "$DATA/ct" --out "$OUT/v" --timings > "$OUT/out" 2> "$OUT/err"
    e=$(now)
    st() { awk -v s="$1" '$(NF-2)==s {print $(NF-1)}' "$OUT/err"; }
    echo "round $r $b: export $(echo "$e - $s" | bc) s, writing $(st writing) s, validating $(st validating) s"
  done
  img="$OUT/v/VOL001.iso"
  s=$(now); openssl dgst -sha256 "$img" > /dev/null; e=$(now)
  o=$(echo "$e - $s" | bc)
  s=$(now); sha256sum "$img" > /dev/null; e=$(now)
  echo "round $r image $(stat -c %s "$img") bytes: openssl dgst -sha256 $o s, sha256sum $(echo "$e - $s" | bc) s"
done
