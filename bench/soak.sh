#!/usr/bin/env bash
# Soak benchmark (not a test): 4 pynetdicom senders store small generated instances (each a
# new SOP Instance UID, 200 per association) into `dcmdisc serve` on 127.0.0.1 for a duration;
# the server's RSS, thread count and open file descriptors are sampled from /proc every few
# seconds. Every report interval the senders pause (release, wait) to see whether threads
# and fds come back to the idle baseline. Prints a table (start, after warm-up, every
# interval loaded and paused, end; min/max under load), the failures seen, and a verdict
# (defined in bench/soak.py). Exit status 0 when the verdict is PASS.
#
# Usage: bench/soak.sh [--minutes N] [--senders N] [--interval SECS] [--report-every MIN]
#                      [--settle SECS] [--workdir DIR] [--keep-data] [--no-build]
# Environment: DCMDISC_BIN=path overrides target/release/dcmdisc.
set -euo pipefail
cd "$(dirname "$0")/.."
build=1
args=()
for a in "$@"; do
    if [[ $a == --no-build ]]; then build=0; else args+=("$a"); fi
done
if [[ -z ${DCMDISC_BIN:-} && $build == 1 ]]; then
    cargo build --release -q -p dcmdisc
fi
export DCMDISC_BIN=${DCMDISC_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/dcmdisc}
date -u +"start %F %T UTC, $(nproc) cores"
status=0
python3 bench/soak.py "${args[@]}" || status=$?
date -u +"end %F %T UTC"
exit $status
