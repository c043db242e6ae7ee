#!/bin/bash
# build-release.sh: builds the `voltaic` command as it is meant to be shipped, and prints its path.
#
# On Linux with glibc the binary is linked statically and at a fixed address (crt-static, relocation
# model static): a dynamically linked `voltaic --json` spent about 400 k of its 940 k instructions in the
# dynamic loader (libc, libm and libgcc_s mapped, 6,600 relocations and 190 symbols bound at every
# start); a static position-independent one still applied 8,100 relocations at start (about 100 k
# instructions, and a copy-on-write page fault for each page of pointers they touch). At a fixed address
# there is nothing to relocate: on samples/thinkpad-ac (scripts/bench-cli.sh) a run took 25 fewer page
# faults and about 90 k fewer instructions than the static PIE; the README's "Performance" has the numbers.
# The price: the program's own code and data are not placed at a random address (ASLR still moves its
# stack, heap and mappings). VOLTAIC_PIE=1 builds a static PIE instead, with packed relative relocations
# (RELR: GNU ld 2.38+, applied by the static glibc start-up since 2.36) to make its start cheaper.
# voltaic calls nothing that needs glibc's NSS at run time (no host or user name lookups), so the
# static binary behaves alike everywhere. crt-static needs an explicit --target: with it cargo leaves
# build scripts and proc-macros (which cannot be static) dynamically linked. Elsewhere this is a plain
# release build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
host=$(rustc -vV | sed -n 's/^host: //p')
case $host in
    *-linux-gnu*)
        RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static"
        if [ "${VOLTAIC_PIE:-0}" = 1 ]; then
            if ld --help 2>/dev/null | grep -q pack-relative-relocs; then
                RUSTFLAGS="$RUSTFLAGS -C link-arg=-Wl,-z,pack-relative-relocs"
            fi
        else
            RUSTFLAGS="$RUSTFLAGS -C relocation-model=static"
        fi
        export RUSTFLAGS
        ;;
esac
cargo build -q --release --locked -p voltaic-cli --target "$host" --manifest-path "$root/Cargo.toml" >&2
echo "${CARGO_TARGET_DIR:-$root/target}/$host/release/voltaic"
