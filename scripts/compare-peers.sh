#!/bin/bash
# compare-peers.sh [FIXTURE.uevent ...]
#
# Shows UPower, acpi and psutil the same fake battery as voltaic, one Linux fixture at a time, and prints
# what each says, side by side: the way to check a rule against the tools people already trust (and to see
# where they are wrong). Needs root (a private mount namespace) and ../shared/tools/with-fakebat.sh;
# installs upower, acpi, dbus and psutil on first use.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/../shared/tools"
[ -x "$tools/with-fakebat.sh" ] || { echo "needs $tools/with-fakebat.sh" >&2; exit 2; }
if ! command -v upower >/dev/null || ! command -v acpi >/dev/null; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q upower acpi dbus >/dev/null
fi
python3 -c 'import psutil' 2>/dev/null || pip install -q psutil
cargo build -q -p voltaic-cli --manifest-path "$root/Cargo.toml"
voltaic="$root/target/debug/voltaic"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
[ $# -gt 0 ] || set -- "$root"/crates/voltaic-core/tests/fixtures/linux/*.uevent
for fixture in "$@"; do
    src="$work/$(basename "$fixture" .uevent)"; mkdir -p "$src"
    # uevent keys -> one attribute file each, as sysfs has them (fakebat-mktree.sh builds the rest)
    python3 - "$fixture" "$src" <<'PY'
import os, sys
path, out = sys.argv[1:]
cur = None
for line in open(path, encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    if line.startswith("#") or "=" not in line:
        continue
    key, value = line.split("=", 1)
    if key == "POWER_SUPPLY_NAME":
        cur = os.path.join(out, value.replace("/", "_"))
        os.makedirs(cur, exist_ok=True)
    elif cur and key.startswith("POWER_SUPPLY_"):
        with open(os.path.join(cur, key[len("POWER_SUPPLY_"):].lower()), "w") as f:
            f.write(value + "\n")
for dev in os.listdir(out):
    d = os.path.join(out, dev)
    if not os.path.exists(os.path.join(d, "type")):
        keys = os.listdir(d)
        battery = any(k in keys for k in ("status", "capacity", "capacity_level", "energy_now", "charge_now"))
        with open(os.path.join(d, "type"), "w") as f:
            f.write("Battery\n" if battery else "Mains\n")
PY
    echo "=================== $(basename "$fixture")"
    "$tools/with-fakebat.sh" --upower "$src" -- sh -c '
        echo "--- upower"; upower -d 2>/dev/null | grep -E "native-path|state:|percentage|capacity:|time to|energy-rate|online" | sort -u
        echo "--- acpi"; acpi -b -i -a 2>&1
        echo "--- psutil"; python3 -c "import psutil; print(psutil.sensors_battery())"
        echo "--- voltaic"; "$0" --all --replay /sys/class/power_supply' "$voltaic" 2>&1
done
