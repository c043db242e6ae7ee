#!/usr/bin/env bash
# The crates as published: `cargo package --workspace` (which builds each packaged crate against the
# others through a temporary local registry, offline), then each packaged crate's own tests, run from the
# unpacked `.crate` files alone: a scratch workspace of the five unpacked packages, the registry
# dependencies on each other patched to those packages (not to the source tree), the workspace's
# Cargo.lock. A test that reads a file the package does not ship fails here.
#
#   bash scripts/package-test.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# The workspace's target directory, so that the dependencies built by `cargo test --workspace` are reused
# (a directory of its own costs a cold build of them all: 8.5 min here against ~2 min). Cargo takes a
# registry crate's build as fresh by name and version alone, and the packaging build gets the workspace's
# crates from a temporary registry: their builds are forgotten first, or a change since the last run would
# be verified against the old ones. (That also rebuilds the workspace's own crates next time.) For the same
# reason cargo does not unpack a registry crate again once it has: the copies it unpacked from earlier
# runs' temporary registries (under CARGO_HOME, in directories named after no registry, `-<hash>`) go too.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
rm -rf "$CARGO_TARGET_DIR"/debug/.fingerprint/voltaic*
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/voltaic-*
# The published crates only: the fuzzer, the benchmarks and the VM test program are `publish = false`.
crates=(voltaic-core voltaic voltaic-top voltaic-history voltaic-cli)
package_args=()
for c in "${crates[@]}"; do package_args+=(-p "$c"); done
cargo package "${package_args[@]}" --locked --allow-dirty
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)

scratch=$(mktemp -d /tmp/voltaic-package-test.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
members=""
patches=""
for c in "${crates[@]}"; do
    tar -xzf "$CARGO_TARGET_DIR/package/$c-$version.crate" -C "$scratch"
    members+="\"$c-$version\", "
    patches+="$c = { path = \"$c-$version\" }"$'\n'
done
cat >"$scratch/Cargo.toml" <<TOML
[workspace]
resolver = "3"
members = [${members%, }]

[patch.crates-io]
$patches
[profile.dev.package.insta]
opt-level = 3
[profile.dev.package.similar]
opt-level = 3
TOML
# The workspace's lock file, so that the packages are tested with the dependency versions the project
# tests. Not `--locked`: cargo drops the entries of the members that are not published (fuzzer, benches,
# VM test program); `--offline` keeps it from choosing any other version.
cp Cargo.lock "$scratch/Cargo.lock"
# In the same target directory: the dependencies are already built there.
cargo test --manifest-path "$scratch/Cargo.toml" \
    --workspace --offline
