#!/usr/bin/env bash
# Store benchmark: dcmtk storescu sends a generated CT series (and one ~1 GiB
# instance) to dcmdisc and to dcmtk `storescp --bit-preserving`, alternately
# in one run (A B A B ...), and prints instances/s, MB/s, peak RSS and the
# ratio dcmdisc/dcmtk per pair, then the median of the pairs per configuration.
#
# Usage: bench/store.sh [options]
#   --netns            run everything in a private network namespace (unshare -n)
#                      whose 127.0.0.1 local route has `quickack 1` (delayed ACKs off);
#                      without it the run uses the stock loopback
#   --durable BOOL     dcmdisc `[archive] durable` (default true)
#   --quick            smoke run: 1 pair, 200 files, the 1 GiB case once
#   --pairs N          pairs (A B) per configuration (default 3)
#   --files N          instances of the series sent per run (default 1000, max 1000)
#   --assocs "1 4"     association counts (N storescu processes, each 1/N of the files;
#                      storescp gets --fork when N > 1)
#   --pdus "16384 131072"  PDU sizes (receiver max PDU = storescu --max-send-pdu)
#   --big-pdus "131072"    PDU sizes for the 1 GiB single-instance case ("" to skip)
#   --big-pairs N      pairs for the 1 GiB case (default 5: one run takes ~1 s and its
#                      time varies a lot with the page cache; quick: 1)
#   --no-big           skip the 1 GiB case
#   --no-build         do not run `cargo build --release` first
#   --retries N        run again (up to N times, default 2) a run during which other
#                      processes used >= 10 % of the machine's CPU
#   --busy-ok          do not wait for the machine to be quiet before each run (by
#                      default each run waits, up to 60 s, for < 10 % CPU busy), and
#                      do not run disturbed runs again
#   --stand-in         use a second dcmtk storescp in place of dcmdisc (tests the script)
#   --out DIR          generated data, run directories, results (default bench/out)
# Environment: DCMDISC=path overrides target/release/dcmdisc.
#
# Timing: wall clock of the sender(s), from the start of the first storescu to
# the exit of the last. MB = 10^6 bytes of the sent files.
# Peak RSS: for a single receiver process (dcmdisc, storescp without --fork) its
# VmHWM read just before it is stopped; for storescp --fork the maximum, over
# 50 ms samples, of the summed VmHWM of the parent and its live children.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STORESCU=/usr/bin/storescu
STORESCP=/usr/bin/storescp
ORIG_ARGS=("$@")

NETNS=0; DURABLE=true; PAIRS=3; NFILES=1000; ASSOCS="1 4"; PDUS="16384 131072"
BIG_PDUS="131072"; BIG_PAIRS=5; BUILD=1; STANDIN=0; OUT="$ROOT/bench/out"; QUICK=0
PORT_A=11112; PORT_B=11113; QUIET_PCT=10; QUIET_WAIT=60; SEND_TIMEOUT=600; SERIES_SIZE=1000; RETRIES=2; BIG_FRAMES=2048

die() { echo "store.sh: $*" >&2; exit 1; }
while (($#)); do
  case $1 in
    --netns) NETNS=1 ;;
    --durable) DURABLE=${2:?}; shift ;;
    --durable=*) DURABLE=${1#*=} ;;
    --quick) QUICK=1; PAIRS=1; BIG_PAIRS=1; NFILES=200 ;;
    --pairs) PAIRS=${2:?}; shift ;;
    --files) NFILES=${2:?}; shift ;;
    --assocs) ASSOCS=${2?}; shift ;;
    --pdus) PDUS=${2?}; shift ;;
    --big-pdus) BIG_PDUS=${2-}; shift ;;
    --big-pairs) BIG_PAIRS=${2:?}; shift ;;
    --no-big) BIG_PDUS="" ;;
    --no-build) BUILD=0 ;;
    --stand-in) STANDIN=1 ;;
    --busy-ok) QUIET_WAIT=0; RETRIES=0 ;;
    --retries) RETRIES=${2:?}; shift ;;
    --out) OUT=${2:?}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
case $DURABLE in true|false) ;; *) die "--durable takes true or false" ;; esac
((NFILES >= 1 && NFILES <= SERIES_SIZE)) || die "--files must be 1..$SERIES_SIZE"
((PAIRS >= 1 && BIG_PAIRS >= 1)) || die "--pairs/--big-pairs must be >= 1"
for p in $PDUS $BIG_PDUS; do ((p >= 4096 && p <= 131072)) || die "PDU $p outside storescu's 4096..131072"; done
for n in $ASSOCS; do ((n >= 1 && n <= 5)) || die "associations must be 1..5 (dcmdisc pool is 5)"; done
[[ -x $STORESCU && -x $STORESCP ]] || die "dcmtk storescu/storescp not found in /usr/bin (apt-get install dcmtk)"

# ---------------------------------------------------------------- preparation
# (done outside the network namespace: cargo may need the network)
if [[ -z ${DCMDISC_BENCH_IN_NETNS-} ]]; then
  mkdir -p "$OUT"
  [[ -n ${DCMDISC-} ]] && BUILD=0
  DCMDISC=${DCMDISC:-$ROOT/target/release/dcmdisc}
  if ((!STANDIN)); then
    if ((BUILD)); then
      echo "== cargo build --release"
      (cd "$ROOT" && cargo build --release) || die "cargo build --release failed"
    fi
    [[ -x $DCMDISC ]] || die "$DCMDISC missing (cargo build --release, or --stand-in to test the script)"
  fi
  python3 -c 'import pydicom, numpy' 2>/dev/null \
    || die "python3 needs pydicom and numpy (pip install pydicom numpy)"
  SERIES_DIR="$OUT/data/ct$SERIES_SIZE"
  if [[ ! -f $SERIES_DIR/.complete ]]; then
    echo "== generating $SERIES_SIZE-slice CT series in $SERIES_DIR (once)"
    rm -rf "$SERIES_DIR" "$SERIES_DIR.part"
    python3 "$HERE/gen_ct.py" series "$SERIES_DIR.part" --count "$SERIES_SIZE"
    touch "$SERIES_DIR.part/.complete"
    mv "$SERIES_DIR.part" "$SERIES_DIR"
  fi
  BIG_FILE="$OUT/data/big-${BIG_FRAMES}f.dcm"
  if [[ -n $BIG_PDUS && ! -f $BIG_FILE ]]; then
    echo "== generating the 1 GiB instance $BIG_FILE (once)"
    python3 "$HERE/gen_ct.py" big "$BIG_FILE" --frames "$BIG_FRAMES"
  fi
  export DCMDISC SERIES_DIR BIG_FILE
  if ((NETNS)); then
    echo "== re-executing inside a private network namespace (unshare -n)"
    export DCMDISC_BENCH_IN_NETNS=1
    exec unshare -n -- bash "$0" "${ORIG_ARGS[@]}" --no-build
  fi
else
  # Inside the namespace: bring lo up, turn delayed ACKs off on the 127.0.0.1 route.
  ip link set lo up
  route=$(ip route show table local | awk '$1 == "local" && $2 == "127.0.0.1" { print; exit }')
  [[ -n $route ]] || die "no local 127.0.0.1 route in the namespace"
  # shellcheck disable=SC2086  # the route's fields, kept as they are
  ip route change table local $route quickack 1
  route=$(ip route show table local | awk '$1 == "local" && $2 == "127.0.0.1" { print; exit }')
  [[ $route == *"quickack 1"* ]] || die "could not set quickack on the local route"
fi

# ---------------------------------------------------------------- bookkeeping
STAMP=$(date +%Y%m%d-%H%M%S)
RUN="$OUT/run-$STAMP"
mkdir -p "$RUN/logs"
RESULTS="$RUN/results.tsv"
printf 'case\tassocs\tpdu\tpair\trole\treceiver\tn\tbytes\tsecs\tinst_s\tmb_s\trss_kb\tstatus\tbusy_before_pct\tother_cpu_pct\n' > "$RESULTS"
if ((NETNS)); then
  NETDESC="private netns, delayed ACKs off: $(ip route show table local | awk '$1 == "local" && $2 == "127.0.0.1" { print; exit }')"
else
  NETDESC="stock loopback"
fi
NAME_A="dcmdisc (durable=$DURABLE)"
((STANDIN)) && NAME_A="STAND-IN storescp --bit-preserving"

mapfile -t ALL_FILES < <(find "$SERIES_DIR" -name 'CT*.dcm' | sort)
((${#ALL_FILES[@]} == SERIES_SIZE)) || die "$SERIES_DIR holds ${#ALL_FILES[@]} files, expected $SERIES_SIZE"
FILES=("${ALL_FILES[@]:0:NFILES}")

CLK_TCK=$(getconf CLK_TCK)
PIDS_TO_KILL=()
cleanup() {
  local p
  for p in "${PIDS_TO_KILL[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# -------------------------------------------------------------------- helpers
port_listening() { # PORT -> 0 if some socket listens on it (any address, v4 or v6)
  local hex f sl local rem st rest
  printf -v hex '%04X' "$1"
  for f in /proc/net/tcp /proc/net/tcp6; do
    [[ -r $f ]] || continue
    while read -r sl local rem st rest; do
      [[ $st == 0A && ${local##*:} == "$hex" ]] && return 0
    done < "$f"
  done
  return 1
}

wait_listening() { # PORT PID
  local i
  for ((i = 0; i < 200; i++)); do
    port_listening "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# Sum of VmHWM (kB) over PID and its live descendants -> REPLY.
tree_hwm_kb() {
  local -a queue=("$1") kids
  local sum=0 pid t k v u
  while ((${#queue[@]})); do
    pid=${queue[0]}; queue=("${queue[@]:1}")
    for t in /proc/"$pid"/task/*/children; do
      [[ -r $t ]] || continue
      kids=()
      { read -r -a kids < "$t"; } 2>/dev/null || true
      queue+=("${kids[@]}")
    done
    { while read -r k v u; do
        if [[ $k == VmHWM: ]]; then sum=$((sum + v)); break; fi
      done < /proc/"$pid"/status; } 2>/dev/null || true
  done
  REPLY=$sum
}

start_sampler() { # PID OUTFILE -> SAMPLER_PID
  local root=$1 out=$2
  echo 0 > "$out"
  (
    set +e
    max=0
    while kill -0 "$root" 2>/dev/null; do
      tree_hwm_kb "$root"
      if ((REPLY > max)); then max=$REPLY; echo "$max" > "$out"; fi
      sleep 0.05
    done
  ) &
  SAMPLER_PID=$!
  PIDS_TO_KILL+=("$SAMPLER_PID")
}

# start_receiver ROLE PDU ASSOCS DATADIR LOG -> RECV_PID, RECV_PORT
start_receiver() {
  local role=$1 pdu=$2 assocs=$3 data=$4 log=$5
  mkdir -p "$data"
  if [[ $role == A ]] && ((!STANDIN)); then
    RECV_PORT=$PORT_A
    local cfg="$RUN/dcmdisc.toml"
    cat > "$cfg" <<EOF
[storage_provider]
ae_titles = ["CDP_PRINTER"]
port = $RECV_PORT
bind_address = "127.0.0.1"
max_pdu_length = $pdu
max_associations = 5
[archive]
data_dir = "$data"
durable = $DURABLE
[web]
enabled = false
EOF
    "$DCMDISC" remote add STORESCU --host 127.0.0.1 --config "$cfg" >> "$log" 2>&1 \
      || { cat "$log" >&2; die "dcmdisc remote add failed"; }
    "$DCMDISC" serve --config "$cfg" >> "$log" 2>&1 &
  else
    [[ $role == A ]] && RECV_PORT=$PORT_A || RECV_PORT=$PORT_B
    local fork=()
    ((assocs > 1)) && fork=(--fork)
    "$STORESCP" --bit-preserving "${fork[@]}" -aet CDP_PRINTER --max-pdu "$pdu" \
      -od "$data" "$RECV_PORT" >> "$log" 2>&1 &
  fi
  RECV_PID=$!
  PIDS_TO_KILL+=("$RECV_PID")
  if ! wait_listening "$RECV_PORT" "$RECV_PID"; then
    tail -20 "$log" >&2
    die "receiver $role did not listen on port $RECV_PORT within 10 s"
  fi
}

stop_receiver() { # PID -> waits (bounded) for it to exit
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "   (receiver $pid did not stop within 30 s of SIGTERM: killed)" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cpu_sample() { # -> REPLY="busy total" jiffies since boot, all CPUs
  local cpu u n s i w q sq st rest
  read -r cpu u n s i w q sq st rest < /proc/stat
  REPLY="$((u + n + s + q + sq + st)) $((u + n + s + i + w + q + sq + st))"
}

# Wait (bounded by QUIET_WAIT seconds) until the machine is quiet: less than
# QUIET_PCT % CPU busy over a 0.5 s window. Another job on the machine (a cargo
# build, a test suite) halves what a 2-core benchmark measures. -> BUSY_PCT
wait_quiet() {
  local b0 t0 b1 t1 waited=0 warned=0
  while :; do
    cpu_sample; read -r b0 t0 <<< "$REPLY"
    sleep 0.5
    cpu_sample; read -r b1 t1 <<< "$REPLY"
    BUSY_PCT=$(((b1 - b0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1)))
    ((BUSY_PCT < QUIET_PCT)) && return 0
    if ((waited >= QUIET_WAIT * 2)); then
      echo "   !! machine still busy ($BUSY_PCT % CPU) after ${QUIET_WAIT} s: running anyway" >&2
      return 0
    fi
    if ((!warned)); then echo "   .. machine busy ($BUSY_PCT % CPU), waiting for it to settle" >&2; warned=1; fi
    waited=$((waited + 1))
  done
}

# CPU time (jiffies, USER_HZ) used by this shell and its waited-for children
# -> REPLY. (`times` must run in this shell: a subshell's counters start at 0.)
children_jiffies() {
  times > "$RUN/times"      # "XmY.YYYs XmY.YYYs" for the shell, then for its children
  REPLY=$(awk -v hz="$CLK_TCK" 'function sec(x,  a) { split(x, a, /[ms]/); return a[1] * 60 + a[2] }
    { t += sec($1) + sec($2) } END { printf "%d", t * hz }' "$RUN/times")
}

fmt_pdu() { if (($1 % 1024 == 0)); then echo "$(($1 / 1024)) KiB"; else echo "$1"; fi; }

# run_one CASE ASSOCS PDU PAIR ROLE FILE... -> one results row; LAST_* for printing
run_one() {
  local case=$1 assocs=$2 pdu=$3 pair=$4 role=$5; shift 5
  local -a files=("$@")
  local n=${#files[@]} bytes minsize data log name
  bytes=$(stat -c %s "${files[@]}" | awk '{ s += $1 } END { printf "%d", s }')
  minsize=$(stat -c %s "${files[@]}" | awk 'NR == 1 || $1 < m { m = $1 } END { printf "%d", m }')
  data="$RUN/recv-$role"
  log="$RUN/logs/$case-a$assocs-p$pdu-$pair-$role"
  if [[ $role == A ]]; then name=$NAME_A; else name="storescp --bit-preserving"; ((assocs > 1)) && name+=" --fork"; fi
  local try t0 t1 status other rss got
  for ((try = 0; ; try++)); do
    : > "$log.receiver"
    rm -rf "$data"
    sync
    wait_quiet

    local mb0 mt0 mb1 mt1 c0 c1
    children_jiffies; c0=$REPLY
    cpu_sample; read -r mb0 mt0 <<< "$REPLY"
    start_receiver "$role" "$pdu" "$assocs" "$data" "$log.receiver"
    local rpid=$RECV_PID
    start_sampler "$rpid" "$RUN/rss.$role"
    local spid=$SAMPLER_PID

    # Split the files into ASSOCS contiguous chunks, one storescu per chunk.
    local -a senders=()
    local per=$(((n + assocs - 1) / assocs)) i rc
    status=ok
    t0=$EPOCHREALTIME
    for ((i = 0; i < assocs; i++)); do
      local -a chunk=("${files[@]:i*per:per}")
      ((${#chunk[@]})) || continue
      timeout "$SEND_TIMEOUT" "$STORESCU" -aec CDP_PRINTER --max-pdu "$pdu" --max-send-pdu "$pdu" \
        127.0.0.1 "$RECV_PORT" "${chunk[@]}" > "$log.storescu$i" 2>&1 &
      senders+=($!)
      PIDS_TO_KILL+=($!)
    done
    for i in "${senders[@]}"; do
      rc=0; wait "$i" || rc=$?
      ((rc == 0)) || status="storescu-exit-$rc"
    done
    t1=$EPOCHREALTIME

    # Peak RSS: the receiver's own VmHWM now, and the sampled tree figure (--fork).
    local hwm
    tree_hwm_kb "$rpid"; hwm=$REPLY
    kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true
    rss=$(<"$RUN/rss.$role")
    ((hwm > rss)) && rss=$hwm
    stop_receiver "$rpid"
    # CPU used on the machine meanwhile by anything but the receiver, the senders
    # and the sampler (all children of this shell, now reaped), in % of the machine.
    cpu_sample; read -r mb1 mt1 <<< "$REPLY"
    children_jiffies; c1=$REPLY
    other=$(( ((mb1 - mb0) - (c1 - c0)) * 100 / (mt1 - mt0 > 0 ? mt1 - mt0 : 1) ))
    ((other < 0)) && other=0

    got=$(python3 "$HERE/report.py" count "$data" $((minsize * 9 / 10)))
    if [[ $status == ok ]] && ((got < n)); then status="stored-$got-of-$n"; fi
    if [[ $status != ok ]]; then
      echo "   !! $role $status; logs: $log.*" >&2
      for i in "$log".storescu* "$log.receiver"; do tail -n 5 "$i" >&2 || true; done
      # Keep what was stored (names, sizes) and, for the first failure, the files.
      find "$data" -type f -printf '%s %P\n' | sort -k2 > "$log.stored" || true
      if [[ ! -e $RUN/failed ]]; then mv "$data" "$RUN/failed"; echo "   !! data kept in $RUN/failed" >&2; fi
    fi
    rm -rf "$data"
    PIDS_TO_KILL=()
    if [[ $status == ok ]] && ((other >= QUIET_PCT && try < RETRIES)); then
      echo "   .. $role disturbed by other processes ($other % CPU), running it again" >&2
      continue
    fi
    break
  done
  if ((other >= QUIET_PCT)); then
    echo "   !! other processes used $other % of the CPU during this run: its figure is unreliable" >&2
  fi

  local line
  line=$(awk -v t0="$t0" -v t1="$t1" -v n="$n" -v b="$bytes" 'BEGIN {
    s = t1 - t0; printf "%.3f\t%.1f\t%.1f", s, n / s, b / s / 1e6 }')
  local secs inst mbs
  IFS=$'\t' read -r secs inst mbs <<< "$line"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$case" "$assocs" "$pdu" "$pair" \
    "$role" "$name" "$n" "$bytes" "$secs" "$inst" "$mbs" "$rss" "$status" "$BUSY_PCT" "$other" >> "$RESULTS"
  printf '   %s %-40s %5d inst in %7.3f s %8.1f inst/s %7.1f MB/s  peak RSS %6.1f MB  other CPU %2d %%  %s\n' \
    "$role" "$name" "$n" "$secs" "$inst" "$mbs" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" "$other" "$status"
  LAST_MBS=$mbs; LAST_INST=$inst; LAST_RSS=$rss; LAST_STATUS=$status
}

run_pairs() { # PAIRS CASE ASSOCS PDU FILE...
  local pairs=$1 case=$2 assocs=$3 pdu=$4; shift 4
  local p a_mbs a_inst a_rss a_st
  echo "== $case, $assocs association(s), PDU $(fmt_pdu "$pdu"), ${#@} file(s) per run"
  for ((p = 1; p <= pairs; p++)); do
    run_one "$case" "$assocs" "$pdu" "$p" A "$@"
    a_mbs=$LAST_MBS; a_inst=$LAST_INST; a_rss=$LAST_RSS; a_st=$LAST_STATUS
    run_one "$case" "$assocs" "$pdu" "$p" B "$@"
    if [[ $a_st == ok && $LAST_STATUS == ok ]]; then
      awk -v p="$p" -v ai="$a_inst" -v bi="$LAST_INST" -v am="$a_mbs" -v bm="$LAST_MBS" \
          -v ar="$a_rss" -v br="$LAST_RSS" 'BEGIN {
        printf "   pair %d: A %.1f inst/s %.1f MB/s %.1f MB | B %.1f inst/s %.1f MB/s %.1f MB | ratio A/B %.2f\n",
          p, ai, am, ar / 1024, bi, bm, br / 1024, am / bm }'
    else
      echo "   pair $p: failed run, no ratio"
    fi
  done
}

# ------------------------------------------------------------------------ run
cat <<EOF
== store benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ)
   host: $(nproc) cores, $(uname -r), data dirs under $RUN (disk: $(df --output=source "$RUN" | tail -1))
   network: $NETDESC
   A: $NAME_A $( ((STANDIN)) || echo "($DCMDISC, built $(date -u -r "$DCMDISC" +%Y-%m-%dT%H:%M:%SZ), HEAD $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null))")
   B: dcmtk $STORESCP --bit-preserving (--fork when >1 association), $($STORESCP --version | head -1 | tr -d '$')
   sender: $STORESCU -aec CDP_PRINTER --max-send-pdu PDU (one process per association)
   pairs per configuration: $PAIRS (1 GiB case: $BIG_PAIRS); series: $NFILES of $SERIES_DIR
EOF
echo "== warming the page cache with the input files"
cat "${FILES[@]}" > /dev/null
[[ -n $BIG_PDUS ]] && cat "$BIG_FILE" > /dev/null

for assocs in $ASSOCS; do
  for pdu in $PDUS; do
    run_pairs "$PAIRS" "CT $NFILES" "$assocs" "$pdu" "${FILES[@]}"
  done
done
for pdu in $BIG_PDUS; do
  run_pairs "$BIG_PAIRS" "1 GiB" 1 "$pdu" "$BIG_FILE"
done

SUMMARY="$RUN/summary.md"
{
  echo "Store benchmark, $NETDESC; A = $NAME_A, B = storescp --bit-preserving (--fork on >1 association)"
  echo
  python3 "$HERE/report.py" summary "$RESULTS"
} > "$SUMMARY"
echo
echo "== summary (median of pairs; ratio = A/B throughput; results: $RESULTS)"
cat "$SUMMARY"
