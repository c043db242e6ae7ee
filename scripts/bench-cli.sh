#!/bin/bash
# bench-cli.sh [SAMPLE] [RUNS]  (default: thinkpad-ac, 300 runs)
#
# Whole-process wall time of `voltaic --json` against `acpi -b` (and `upower -d`, against a private
# UPower daemon serving the same devices, when upowerd is installed), on the same fake devices: a
# sysfs-like copy of samples/SAMPLE bind-mounted over /sys/class/power_supply in a private mount
# namespace (unshare --mount, needs root). Runs are paired (voltaic, then the peer, alternating which
# goes first) so that machine noise hits both alike; the script prints each tool's median and the
# 10th-90th percentile spread, and the median of the per-pair ratios.
# Builds voltaic as shipped (scripts/build-release.sh); installs acpi (and strace-free python3 is assumed) with apt if missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sample=${1:-thinkpad-ac}
runs=${2:-300}
src="$root/samples/$sample"
[ -d "$src" ] || { echo "no sample $src" >&2; exit 2; }

if [ "${_VOLTAIC_BENCH_NS:-}" != 1 ]; then
    [ "$(id -u)" = 0 ] || { echo "needs root (a private mount namespace)" >&2; exit 2; }
    if ! command -v acpi >/dev/null; then
        apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q acpi >/dev/null
    fi
    voltaic=$("$root/scripts/build-release.sh")  # the shipped build (static on Linux with glibc)
    work=$(mktemp -d /tmp/voltaic-bench-cli.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    # Device directories directly in the class directory (libudev, and so upowerd, takes only syspaths
    # under /sys), each with the `subsystem` link udev reads the subsystem's name from.
    mkdir -p "$work/power_supply"
    for d in "$src"/*/; do
        name=$(basename "$d")
        dev="$work/power_supply/$name"
        mkdir -p "$dev"
        cp "$d"* "$dev/"
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
        ln -s ../../../class/power_supply "$dev/subsystem"
    done
    _VOLTAIC_BENCH_NS=1 _VOLTAIC_BENCH_WORK="$work" _VOLTAIC_BENCH_BIN="$voltaic" \
        unshare --mount --propagation private "$0" "$sample" "$runs"
    exit $?
fi

# Inside the private mount namespace.
work=$_VOLTAIC_BENCH_WORK
mount --bind "$work/power_supply" /sys/class/power_supply
voltaic=$_VOLTAIC_BENCH_BIN
peers=("acpi -b")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
if [ -x /usr/libexec/upowerd ] && command -v dbus-daemon >/dev/null; then
    # A private bus standing in for the system bus, and upowerd on it reading the fake devices.
    dbus-daemon --session --nofork --nopidfile --address="unix:path=$work/bus" 2>/dev/null &
    pids+=($!)
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$work/bus" SYSTEMD_DEVICE_VERIFY_SYSFS=0
    for _ in $(seq 100); do [ -S "$work/bus" ] && break; sleep 0.05; done
    mkdir -p "$work/history"
    UPOWER_HISTORY_DIR="$work/history" /usr/libexec/upowerd >/dev/null 2>&1 &
    pids+=($!)
    for _ in $(seq 200); do
        upower -e 2>/dev/null | grep -q battery_ && break
        sleep 0.05
    done
    if upower -e 2>/dev/null | grep -q battery_; then peers+=("upower -d"); fi
fi

echo "== what each says ($sample)"
"$voltaic" --json | head -c 400; echo
for peer in "${peers[@]}"; do $peer | head -5; done

if command -v valgrind >/dev/null; then
    echo "== instructions per whole process (callgrind, deterministic)"
    for cmd in "$voltaic --json" "${peers[@]}"; do
        # shellcheck disable=SC2086 # a command line, split on purpose
        n=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null $cmd 2>&1 >/dev/null |
            sed -n 's/.*Collected : *//p')
        printf '%-18s %s\n' "${cmd/#"$voltaic"/voltaic}" "$n"
    done
fi

python3 - "$runs" "$voltaic --json" "${peers[@]}" <<'PY'
import os, statistics, sys, time
runs = int(sys.argv[1])
ours, peers = sys.argv[2].split(), [p.split() for p in sys.argv[3:]]
name = lambda argv: " ".join(["voltaic" if argv is ours else argv[0]] + argv[1:])
null = os.open(os.devnull, os.O_WRONLY)

def once(argv):
    start = time.perf_counter_ns()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, null, 1)])
    _, status = os.waitpid(pid, 0)
    took = time.perf_counter_ns() - start
    if status != 0:
        sys.exit(f"{' '.join(argv)} failed ({status})")
    return took / 1e6

def spread(xs):
    q = statistics.quantiles(xs, n=10)
    return f"median {statistics.median(xs):6.3f} ms  p10-p90 {q[0]:6.3f}-{q[-1]:6.3f} ms"

print(f"\n== whole process wall time, {runs} paired runs each")
for peer in peers:
    for argv in (ours, peer):
        once(argv)  # warm caches
    a, b, ratio = [], [], []
    for i in range(runs):
        if i % 2:
            y = once(peer); x = once(ours)
        else:
            x = once(ours); y = once(peer)
        a.append(x); b.append(y); ratio.append(x / y)
    q = statistics.quantiles(ratio, n=10)
    print(f"{name(ours):18} {spread(a)}")
    print(f"{name(peer):18} {spread(b)}")
    print(f"{'ratio voltaic/peer':18} median {statistics.median(ratio):6.3f}     p10-p90 {q[0]:6.3f}-{q[-1]:6.3f}\n")
PY
