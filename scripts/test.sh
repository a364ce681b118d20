#!/usr/bin/env bash
# The whole test suite: checks formatting and lints (cargo fmt, cargo clippy -D warnings),
# installs the test peers when missing, builds, runs the Rust tests, fuzzes every parser of
# outside bytes for a bounded time (scripts/fuzz.sh), then the interoperability tests against
# real peers (tests/interop, pytest). A formatting
# difference or a clippy warning fails the run before the build and the tests.
#
#   bash scripts/test.sh            # everything
#   PYTEST_ARGS="-k echo" bash scripts/test.sh
#   FUZZ_SECONDS=0 bash scripts/test.sh    # without the fuzzing step (default 30 s a target)
set -euo pipefail

cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*" >&2; }

# --------------------------------------------------------------------------- format + lints
# First, because they are cheap and a violation fails the run anyway.
for component in rustfmt:fmt clippy:clippy; do
    name=${component%%:*} sub=${component##*:}
    if ! cargo "$sub" --version >/dev/null 2>&1; then
        log "installing the $name component (rustup)"
        rustup component add "$name"
    fi
done

log "cargo fmt --all -- --check"
cargo fmt --all -- --check

log "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

# --------------------------------------------------------------------------- peers
apt_missing=()
for tool in /usr/bin/storescu:dcmtk /usr/bin/echoscu:dcmtk /usr/bin/dcmdump:dcmtk \
            /usr/bin/dciodvfy:dicom3tools /usr/bin/xorriso:xorriso /usr/bin/isoinfo:genisoimage \
            /usr/bin/ip:iproute2 /bin/mount:mount /usr/bin/xmllint:libxml2-utils \
            /usr/bin/openssl:openssl \
            /usr/share/xml/w3c-sgml-lib/schema/dtd/catalog.xml:w3c-sgml-lib \
            /usr/bin/chromium:chromium /usr/bin/firefox-esr:firefox-esr /usr/bin/unshare:util-linux \
            /usr/bin/node:nodejs /usr/bin/npm:npm \
            /usr/bin/systemd-analyze:systemd /usr/bin/man:man-db /usr/bin/setpriv:util-linux \
            /usr/sbin/adduser:adduser; do
    path=${tool%%:*} pkg=${tool##*:}
    if [ ! -e "$path" ]; then apt_missing+=("$pkg"); fi
done
# The disc label's tests: poppler reads, lists the fonts of and rasterises the label PDF; the
# fonts it embeds are the system's (Latin, Cyrillic, Greek: DejaVu; Japanese, Korean, Chinese:
# Noto CJK), none ships with dcmdisc.
for file in /usr/bin/pdftoppm:poppler-utils /usr/bin/pdffonts:poppler-utils \
            /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core \
            /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc:fonts-noto-cjk; do
    path=${file%%:*} pkg=${file##*:}
    if [ ! -e "$path" ]; then apt_missing+=("$pkg"); fi
done
if [ ${#apt_missing[@]} -gt 0 ]; then
    mapfile -t apt_missing < <(printf '%s\n' "${apt_missing[@]}" | sort -u)
    log "installing ${apt_missing[*]} (apt)"
    SUDO=""; if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${apt_missing[@]}"
fi

PYTHON=${PYTHON:-python3}
pip_missing=()
# module:requirement (pydicom/pynetdicom 3 are the APIs the tests are written against)
for spec in "pydicom:pydicom>=3,<4" "pynetdicom:pynetdicom>=3,<4" "data_store:pydicom-data" \
            "numpy:numpy" "pytest:pytest" "pytest_timeout:pytest-timeout" \
            "aiosmtpd:aiosmtpd" "websockets:websockets>=13"; do
    module=${spec%%:*} pkg=${spec##*:}
    if ! "$PYTHON" -c "import $module" 2>/dev/null; then pip_missing+=("$pkg"); fi
done
if [ ${#pip_missing[@]} -gt 0 ]; then
    log "installing ${pip_missing[*]} (pip)"
    # Debian's system Python refuses global installs without this flag (PEP 668).
    "$PYTHON" -m pip install --quiet "${pip_missing[@]}" \
        || "$PYTHON" -m pip install --quiet --break-system-packages "${pip_missing[@]}"
fi

# The Debian package test (tests/interop/test_package.py) builds the .deb with cargo-deb,
# which Debian does not package: from crates.io, pinned by its own lock file (about 2 min of
# CPU, 8 min on a busy 2-core machine, once).
if ! cargo deb --version >/dev/null 2>&1; then
    log "installing cargo-deb (cargo install --locked)"
    cargo install cargo-deb --locked
fi

# --------------------------------------------------------------------------- build + unit tests
log "cargo build --release"
cargo build --release --workspace --bins --examples

log "cargo test --workspace --release"
cargo test --workspace --release

# --------------------------------------------------------------------------- fuzzing
# Every fuzz target for a bounded time (docs/fuzzing.md); a crash fails the run and leaves its
# input under crates/*/tests/fuzz-regressions/. FUZZ_SECONDS=0 skips it.
if [ "${FUZZ_SECONDS:-30}" != 0 ]; then
    log "fuzzing (scripts/fuzz.sh, ${FUZZ_SECONDS:-30} s per target)"
    FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash scripts/fuzz.sh
fi

# --------------------------------------------------------------------------- interop tests
log "pytest tests/interop"
# The binary cargo just built: where cargo puts it (CARGO_TARGET_DIR, build.target-dir).
target_dir=$(cargo metadata --format-version 1 --no-deps \
    | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
export DCMDISC_BIN=${DCMDISC_BIN:-$target_dir/release/dcmdisc}
# shellcheck disable=SC2086
"$PYTHON" -m pytest tests/interop -v -p no:cacheprovider ${PYTEST_ARGS:-}
