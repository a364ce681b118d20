#!/usr/bin/env bash
# The Debian package: builds the release binary, writes its manual pages from the binary's own
# clap definition (`dcmdisc man --dir`), then `cargo deb --no-build` packs binary, systemd
# unit (dist/dcmdisc.service), example configuration (a conffile in /etc/dcmdisc/), man pages
# and the maintainer scripts (dist/debian/). Prints the path of the .deb on its last line.
#
#   bash scripts/deb.sh                  # needs cargo-deb: cargo install cargo-deb --locked
#   SKIP_BUILD=1 bash scripts/deb.sh     # package the binary already in target/release
set -euo pipefail

cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}

if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release -p dcmdisc >&2
fi
man_dir="$target/release/man"
rm -rf "$man_dir"
"$target/release/dcmdisc" man --dir "$man_dir"
# -n: no name or time stamp in the gzip header, so the same pages give the same bytes.
gzip -9n "$man_dir"/*.1
cargo deb -p dcmdisc --no-build --strip --output "$target/debian/" >&2
ls -t "$target"/debian/dcmdisc_*.deb | head -n 1
