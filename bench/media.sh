#!/usr/bin/env bash
# Media benchmark (issue 3): in one run, on the same generated collection,
#  (a) DICOMDIR creation: dcmdisc export (reading + DICOMDIR stages) vs dcmtk dcmmkdir;
#  (b) ISO creation: see bench/iso.sh (dcmdisc's writer vs genisoimage and xorriso).
# Usage: bench/media.sh [N=10000] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
ROUNDS=${2:-3}
BIN=target/release/dcmdisc
[ -x "$BIN" ] || cargo build --release -p dcmdisc
DATA=bench/out/media-$N
if [ ! -f "$DATA/.complete" ]; then
  rm -rf "$DATA"; mkdir -p "$DATA/DICOM"
  python3 bench/gen_collection.py "$DATA/DICOM" "$N"
  touch "$DATA/.complete"
fi
# dcmmkdir wants uppercase 8-character file names: use its +m mapping... simpler: ours are
# IMnnnnnn.dcm, so give it a copy with names it accepts (made once).
if [ ! -d "$DATA/MK/DICOM" ]; then
  mkdir -p "$DATA/MK/DICOM"
  i=0; for f in "$DATA"/DICOM/*.dcm; do cp "$f" "$DATA/MK/DICOM/$(printf 'I%07d' $i)"; i=$((i+1)); done
fi
cat "$DATA"/DICOM/*.dcm > /dev/null  # warm the page cache for both tools
ours=(); theirs=()
for r in $(seq "$ROUNDS"); do
  rm -rf /tmp/media-bench-out
  t=$("$BIN" export --from-folder "$DATA/DICOM" --out /tmp/media-bench-out --profile STD-GEN-USB-JPEG --timings 2>&1 \
      | awk '/^timing/ && ($(NF-2)=="reading" || $(NF-2)=="dicomdir") {s+=$(NF-1)} END {printf "%.3f", s}')
  ours+=("$t")
  start=$(date +%s.%N)
  dcmmkdir -Pgp -A +D /tmp/media-bench.dir +id "$DATA/MK" +r DICOM >/dev/null 2>&1
  end=$(date +%s.%N)
  theirs+=("$(echo "$end - $start" | bc)")
  echo "round $r: dcmdisc reading+DICOMDIR ${ours[-1]} s, dcmmkdir ${theirs[-1]} s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mo=$(median "${ours[@]}"); mt=$(median "${theirs[@]}")
echo "N=$N median: dcmdisc $mo s, dcmmkdir $mt s, dcmmkdir/dcmdisc = $(echo "scale=1; $mt / $mo" | bc)x"
rm -rf /tmp/media-bench-out /tmp/media-bench.dir
