#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser that sees outside bytes (the targets in fuzz/, see
# docs/fuzzing.md): builds them with cargo fuzz (libFuzzer, AddressSanitizer, debug
# assertions so that integer overflows panic), seeds the corpora from the real sample files
# (fuzz/seeds.py), runs each target for a bounded time, and prints per target the executions,
# coverage (libFuzzer's cov: and ft:) and exec/s reached. A target that crashes, hangs or
# runs out of memory fails the run; its input is copied to
# crates/<crate>/tests/fuzz-regressions/<target>/, where `cargo test` replays it once the
# bug is fixed (commit the file with the fix).
#
#   bash scripts/fuzz.sh                   # every target, 30 s each
#   FUZZ_SECONDS=300 bash scripts/fuzz.sh pdata rle
#
# Only a stable toolchain exists here: cargo fuzz's flags (-Zsanitizer, -Cpasses) are unlocked
# with RUSTC_BOOTSTRAP=1, the documented escape hatch the compiler's own build uses.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD

SECONDS_PER_TARGET=${FUZZ_SECONDS:-30}
ALL_TARGETS=(associate_rq pdata dimse_command dataset_walk file_meta jpeg_lossless rle transcode_file
             iso_read dicomdir_read commitment_request)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi

log() { printf '\n==> %s\n' "$*" >&2; }

# Where a target's regression inputs live: the crate whose parser it drives.
crate_of() {
    case $1 in
        associate_rq | pdata | dimse_command | commitment_request) echo net ;;
        dataset_walk | file_meta) echo dicom ;;
        jpeg_lossless | rle | transcode_file) echo transcode ;;
        iso_read) echo iso9660 ;;
        dicomdir_read) echo media ;;
        *) echo "unknown fuzz target $1" >&2; return 1 ;;
    esac
}

# libFuzzer options per target: input size (the network and file targets carry whole
# messages and files) and leak checking (pdata's server threads outlive an input, so a
# leak check after each one would only stop the world for nothing).
options_of() {
    case $1 in
        pdata) echo "-max_len=65536 -detect_leaks=0" ;;
        transcode_file | dicomdir_read) echo "-max_len=65536" ;;
        iso_read) echo "-max_len=262144" ;;
        *) echo "-max_len=16384" ;;
    esac
}

# AddressSanitizer options per target. pdata's server threads (tokio runtime, association
# threads) are alive when the process exits, so LeakSanitizer's check at exit reports their
# allocations as leaks (seen: 92 bytes in 3 allocations, on an empty input, after 35k runs):
# libFuzzer's -detect_leaks=0 covers only its per-input check, so it is switched off here too.
asan_of() {
    case $1 in
        pdata) echo "detect_leaks=0" ;;
        *) echo "${ASAN_OPTIONS:-}" ;;
    esac
}

export RUSTC_BOOTSTRAP=1
# The fuzz build (sanitizer flags, its own lock file) never shares the workspace's target dir.
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$root/fuzz/target}
# Panics print their backtrace; dicom-ul's errors capture one each (snafu, force_capture)
# only when asked, which would slow every refused PDU down by orders of magnitude.
export RUST_BACKTRACE=1 RUST_LIB_BACKTRACE=0

if ! cargo fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz (cargo install cargo-fuzz --locked)"
    cargo install cargo-fuzz --locked
fi

log "seed corpora (fuzz/seeds.py)"
python3 fuzz/seeds.py

log "cargo fuzz build (${TARGETS[*]})"
(cd fuzz && cargo fuzz build)

# transcode_file writes its input to a temp file: under our own folder, removed at the end.
fuzz_tmp=$CARGO_TARGET_DIR/fuzz-tmp
rm -rf "$fuzz_tmp"
mkdir -p "$fuzz_tmp"
trap 'rm -rf "$fuzz_tmp"' EXIT

results=()
failed=()
for t in "${TARGETS[@]}"; do
    crate=$(crate_of "$t")
    log "cargo fuzz run $t (${SECONDS_PER_TARGET} s)"
    out=$(mktemp)
    artifacts=$root/fuzz/artifacts/$t
    mkdir -p "$artifacts"
    status=0
    # shellcheck disable=SC2046
    (cd fuzz && TMPDIR=$fuzz_tmp ASAN_OPTIONS=$(asan_of "$t") cargo fuzz run "$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -print_final_stats=1 $(options_of "$t")) \
        >"$out" 2>&1 || status=$?
    grep -E '(INITED|DONE|pulse|NEW) ' "$out" | tail -n 3 >&2 || true
    # The last status line: "#<execs> DONE cov: N ft: N corp: N/Nb ... exec/s: N rss: NMb".
    last=$(grep -E '^#[0-9]+.*cov: ' "$out" | tail -n 1 || true)
    execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$last")
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$last")
    rate=$(sed -nE 's/.*stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$out" | tail -n 1)
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$out" >&2
        dest=$root/crates/$crate/tests/fuzz-regressions/$t
        mkdir -p "$dest"
        found=0
        for f in "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-* "$artifacts"/leak-*; do
            [ -e "$f" ] || continue
            cp "$f" "$dest/"
            echo "fuzz: $t failed on $f, copied to ${dest#"$root"/}/" >&2
            found=1
        done
        [ "$found" = 1 ] || echo "fuzz: $t failed (exit $status) without an artifact" >&2
        failed+=("$t")
        verdict=FAILED
    else
        verdict=ok
    fi
    results+=("$(printf '%-15s %10s %7s %7s %6s %8s  %s' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
        "${corp:-?}" "${rate:-?}" "$verdict")")
    rm -f "$out"
done

printf '\n%-15s %10s %7s %7s %6s %8s  %s\n' target execs cov ft corpus exec/s result
printf '%s\n' "${results[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: ${failed[*]} failed; inputs are under crates/*/tests/fuzz-regressions/" >&2
    exit 1
fi
