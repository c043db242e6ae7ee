#!/bin/bash
# bench.sh [SAMPLE]  (default: thinkpad-ac; any directory name under samples/)
#
# What one battery reading costs, voltaic against starship-battery, on the same devices:
#   - instructions (callgrind) and heap blocks (DHAT) of a first read (Manager::new + batteries), a
#     snapshot, and a steady refresh, through gungraun (benches/read.rs);
#   - system calls per steady refresh and per first read, counted with `strace -f` around N operations
#     (benches/src/bin/syscalls.rs).
# Both libraries read the live /sys/class/power_supply, so everything runs in a private mount namespace
# (unshare --mount, needs root) with a sysfs-like copy of samples/SAMPLE bind-mounted over it: device
# directories behind symlinks as in sysfs, one attribute file per uevent property plus the uevent.
# Installs gungraun-runner (the same version as the gungraun dev-dependency) and valgrind/strace if missing.
# Counts are deterministic; the instruction counts are of the measured function only (setup excluded).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sample=${1:-thinkpad-ac}
src="$root/samples/$sample"
[ -d "$src" ] || { echo "no sample $src" >&2; exit 2; }

if [ "${_VOLTAIC_BENCH_NS:-}" != 1 ]; then
    [ "$(id -u)" = 0 ] || { echo "needs root (a private mount namespace)" >&2; exit 2; }
    runner_version=$(sed -n 's/^gungraun = { version = "=\([^"]*\)".*/\1/p' "$root/benches/Cargo.toml")
    [ -n "$runner_version" ] || { echo "no exact gungraun version in benches/Cargo.toml" >&2; exit 2; }
    if [ "$(gungraun-runner --version 2>/dev/null | awk '{print $2}')" != "$runner_version" ]; then
        cargo install -q --locked gungraun-runner --version "$runner_version"
    fi
    need=()
    command -v valgrind >/dev/null || need+=(valgrind)
    command -v strace >/dev/null || need+=(strace)
    if [ ${#need[@]} -gt 0 ]; then
        apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
    fi
    cargo bench -q -p voltaic-bench --features measure --no-run --manifest-path "$root/Cargo.toml"
    cargo build -q --release -p voltaic-bench --features measure --bin syscalls --manifest-path "$root/Cargo.toml"
    work=$(mktemp -d /tmp/voltaic-bench.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/devices" "$work/power_supply"
    for d in "$src"/*/; do
        name=$(basename "$d")
        dev="$work/devices/$name"
        mkdir -p "$dev"
        cp "$d"* "$dev/"
        # one attribute file per uevent property, as the kernel's power_supply_sysfs.c exposes them
        while IFS='=' read -r key value; do
            case $key in
                POWER_SUPPLY_NAME | "") ;;
                POWER_SUPPLY_*)
                    attr=${key#POWER_SUPPLY_}
                    attr=${attr,,}
                    [ -e "$dev/$attr" ] || printf '%s\n' "$value" > "$dev/$attr"
                    ;;
            esac
        done < "$d/uevent"
        ln -s "$work/devices/$name" "$work/power_supply/$name"  # absolute: the class directory is bind-mounted elsewhere
    done
    _VOLTAIC_BENCH_NS=1 _VOLTAIC_BENCH_TREE="$work/power_supply" \
        unshare --mount --propagation private "$0" "$sample"
    exit $?
fi

# Inside the private mount namespace.
mount --bind "$_VOLTAIC_BENCH_TREE" /sys/class/power_supply
cd "$root"
out=$(cargo bench -q -p voltaic-bench --features measure --bench read 2>&1) || { printf '%s\n' "$out"; exit 1; }
printf '%s\n' "$out"

# "name  instructions  blocks" for each benchmark, from gungraun's report.
metrics=$(printf '%s\n' "$out" | awk '
    /^read::/ { split($1, p, "::"); name = p[3] }
    /^ *Instructions:/ { split($2, v, "|"); ins[name] = v[1] }
    /^ *Total blocks:/ { split($3, v, "|"); blk[name] = v[1] }
    END { for (n in ins) printf "%s %s %s\n", n, ins[n], (n in blk ? blk[n] : "?") }')
get() { printf '%s\n' "$metrics" | awk -v n="$1" -v c="$2" '$1 == n { print $c }'; }

n=1000
syscalls() {
    local log="$_VOLTAIC_BENCH_TREE/../strace.log"
    strace -f -qq -o "$log" "${CARGO_TARGET_DIR:-$root/target}/release/syscalls" "$1" "$2" "$n" 2>/dev/null || { echo "syscalls $1 $2 failed" >&2; return 1; }
    awk -v n="$n" '
        /voltaic-bench-begin/ { on = 1; next }
        /voltaic-bench-end/ { on = 0 }
        on { count++ }
        END { printf "%.1f", count / n }' "$log"
}

printf '\n%-28s %14s %14s %8s %10s\n' "per operation ($sample)" voltaic starship ratio "" 
for op in first_read refresh; do
    vi=$(get "voltaic_$op" 2); si=$(get "starship_$op" 2)
    vb=$(get "voltaic_$op" 3); sb=$(get "starship_$op" 3)
    printf '%-28s %14s %14s %8s\n' "$op instructions" "$vi" "$si" "$(awk -v a="$vi" -v b="$si" 'BEGIN { printf "%.2f", a / b }')"
    printf '%-28s %14s %14s\n' "$op heap blocks" "$vb" "$sb"
done
printf '%-28s %14s %14s\n' "refresh syscalls" "$(syscalls voltaic refresh)" "$(syscalls starship refresh)"
printf '%-28s %14s %14s\n' "first_read syscalls" "$(syscalls voltaic first-read)" "$(syscalls starship first-read)"
printf '%-28s %14s\n' "snapshot instructions" "$(get voltaic_snapshot 2)"
printf '%-28s %14s\n' "snapshot heap blocks" "$(get voltaic_snapshot 3)"
