#!/usr/bin/env bash
# voltaic against a real Linux kernel: boots Debian's kernel under QEMU (TCG) with the kernel's test_power driver
# and voltaic's fixture module (tests/kernel/voltaic_fixture.c), runs the checks in tests/kernel/ against live
# sysfs and live uevents, replays the live recording on the host, and ends with
#     kernel-test: N passed, M failed
# Exit status 0 only when nothing failed.
#
# Installs what it needs (Debian packages: qemu-system-x86, busybox-static, cpio, make, gcc, the kernel headers
# through the linux-headers-amd64 metapackage) and downloads the matching kernel image and source packages (the
# same Debian version as the headers). Downloads are cached in $VOLTAIC_KERNEL_CACHE (default
# ~/.cache/voltaic/kernel-test), builds in target/kernel-test/; a second run skips both.
#
# Environment: VOLTAIC_KERNEL_ACCEL=kvm to try KVM (TCG by default: a KVM guest hung after decompression on
# the machines this was written on), VOLTAIC_KERNEL_TIMEOUT (seconds, default 600).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/target/kernel-test
cache=${VOLTAIC_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/voltaic/kernel-test}
mkdir -p "$work" "$cache"
t0=$SECONDS
log() { printf 'kernel-test: %s\n' "$*"; }

# ---- packages -------------------------------------------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] && /bin/busybox --list | grep -qx cttyhack || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v make >/dev/null || need+=(make)
command -v gcc >/dev/null || need+=(gcc)
dpkg -s linux-headers-amd64 >/dev/null 2>&1 || need+=(linux-headers-amd64)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"; } \
        >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; log "apt-get install failed"; exit 1; }
fi
if file /bin/busybox 2>/dev/null | grep -q dynamically; then
    log "/bin/busybox is not the static build (install busybox-static)"; exit 1
fi

# The kernel the headers metapackage points at; the image and source are taken at the headers' exact version.
kpkg=$(dpkg -s linux-headers-amd64 | sed -n 's/^Depends: \(linux-headers-[^ ,]*\).*/\1/p')
kver=${kpkg#linux-headers-}
if [ ! -d "/usr/src/$kpkg" ]; then
    log "installing $kpkg"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$kpkg" >"$work/apt.log" 2>&1 \
        || { cat "$work/apt.log" >&2; exit 1; }
fi
debver=$(dpkg -s "$kpkg" | sed -n 's/^Version: //p')
series=$(echo "$kver" | cut -d. -f1-2)
kcache=$cache/$kver-$debver
mkdir -p "$kcache"
log "kernel $kver (Debian $debver)"

fetch_deb() { # package=version → path of the .deb in the cache
    local deb
    deb=$(ls "$kcache"/"${1%%=*}"_*.deb 2>/dev/null | head -n 1 || true)
    if [ -z "$deb" ]; then
        (cd "$kcache" && apt-get download -q "$1" >"$work/download.log" 2>&1) || {
            apt-get update -q >/dev/null 2>&1
            (cd "$kcache" && apt-get download -q "$1" >"$work/download.log" 2>&1) \
                || { cat "$work/download.log" >&2; log "apt-get download $1 failed"; exit 1; }
        }
        deb=$(ls "$kcache"/"${1%%=*}"_*.deb | head -n 1)
    fi
    echo "$deb"
}
if [ ! -f "$kcache/vmlinuz" ]; then
    deb=$(fetch_deb "linux-image-$kver=$debver")
    rm -rf "$kcache/image" && dpkg-deb -x "$deb" "$kcache/image"
    cp "$kcache/image/boot/vmlinuz-$kver" "$kcache/vmlinuz.tmp" && mv "$kcache/vmlinuz.tmp" "$kcache/vmlinuz"
    rm -rf "$kcache/image" "$deb"
fi
if [ ! -f "$kcache/test_power.c" ]; then
    deb=$(fetch_deb "linux-source-$series=$debver")
    dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/linux-source-$series.tar.xz" \
        | tar -xJO "linux-source-$series/drivers/power/supply/test_power.c" >"$kcache/test_power.c.tmp"
    mv "$kcache/test_power.c.tmp" "$kcache/test_power.c"
    rm -f "$deb"
fi
log "packages ready after $((SECONDS - t0)) s"

# ---- modules ----------------------------------------------------------------------------------------------
mods=$work/modules-$kver
mkdir -p "$mods"
cp -p tests/kernel/Kbuild tests/kernel/voltaic_fixture.c "$mods/"
cp -p "$kcache/test_power.c" "$mods/"
make -s -C "/usr/src/$kpkg" M="$mods" modules >"$work/modules.log" 2>&1 \
    || { cat "$work/modules.log" >&2; log "module build failed"; exit 1; }
log "modules built after $((SECONDS - t0)) s"

# ---- voltaic binaries (the debug build the test suite already made) ------------------------------------------
cargo build --locked -q -p voltaic-cli -p voltaic-kernel-guest
bins=("$root/target/debug/voltaic" "$root/target/debug/voltaic-kernel-guest")
log "binaries built after $((SECONDS - t0)) s"

# ---- initramfs ----------------------------------------------------------------------------------------------
ird=$work/initramfs
rm -rf "$ird"
mkdir -p "$ird"/{bin,lib/modules,proc,sys,dev,tmp}
cp /bin/busybox "$ird/bin/"
cp "${bins[@]}" "$ird/bin/"
cp "$mods"/test_power.ko "$mods"/voltaic_fixture.ko "$ird/lib/modules/"
cp tests/kernel/init "$ird/init"
chmod 755 "$ird/init"
# The binaries' shared libraries and loader, at the paths they were linked against.
for lib in $(for b in "${bins[@]}"; do ldd "$b"; done | grep -o '/[^ :]* (0x' | cut -d' ' -f1 | sort -u); do
    mkdir -p "$ird$(dirname "$lib")"
    cp -L "$lib" "$ird$lib"
done
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"
log "initramfs $(du -h "$work/initrd.gz" | cut -f1) after $((SECONDS - t0)) s"

# ---- boot -----------------------------------------------------------------------------------------------------
accel=${VOLTAIC_KERNEL_ACCEL:-tcg}
console=$work/console.log
artifacts=$work/artifacts.txt
screen=$work/top-screen.txt
rm -f "$console" "$artifacts" "$screen"
boot=$SECONDS
log "booting ($accel)"
set +e
# The console streams here with \r and any terminal control sequence removed.
timeout "${VOLTAIC_KERNEL_TIMEOUT:-600}" qemu-system-x86_64 -accel "$accel" -m 512 -smp 1 -display none -no-reboot \
    -monitor none -serial stdio -serial "file:$artifacts" -serial "file:$screen" \
    -kernel "$kcache/vmlinuz" -initrd "$work/initrd.gz" \
    -append "console=ttyS0 panic=-1 loglevel=3" </dev/null 2>"$work/qemu.err" \
    | LC_ALL=C sed -u -e 's/\x1b\[[0-9;?]*[ -\/]*[@-~]//g' -e 's/\x1b[()][0-9A-Za-z]//g' -e 's/\x1b[=>78]//g' \
        -e 's/\r//g' -e 's/[\x01-\x08\x0b-\x1f\x7f]//g' | tee "$console"
qemu_rc=${PIPESTATUS[0]}
set -e
log "VM ran $((SECONDS - boot)) s (qemu exit $qemu_rc)"
[ "$qemu_rc" = 0 ] || { log "qemu: $(head -c 500 "$work/qemu.err")"; }

# ---- host-side checks -----------------------------------------------------------------------------------------
host_ok=0
host_fail=0
host() { # NAME RESULT-TEXT (empty = pass)
    if [ -z "$2" ]; then echo "ok - host: $1"; host_ok=$((host_ok + 1));
    else echo "not ok - host: $1: $2"; host_fail=$((host_fail + 1)); fi
}
if grep -q '^kernel-test: guest done' "$console"; then
    host "the guest ran every check and powered off" ""
else
    host "the guest ran every check and powered off" "no 'guest done' line (crash, hang or timeout; see $console)"
fi
# What voltaic top drew, control sequences removed: its title bar and the fixture battery's tab.
drawn=$(LC_ALL=C sed -e 's/\x1b\[[0-9;?]*[ -\/]*[@-~]/ /g' "$screen" 2>/dev/null | tr -s ' ' || true)
case "$drawn" in
    *"voltaic top"*Fixture*) host "voltaic top drew its screen in the guest terminal" "" ;;
    *) host "voltaic top drew its screen in the guest terminal" "title or battery tab missing from $screen" ;;
esac
if [ -s "$artifacts" ]; then
    tr -d '\r' <"$artifacts" | sed -n '/^--- record$/,/^--- json$/p' | sed '1d;$d' >"$work/live.record"
    tr -d '\r' <"$artifacts" | sed -n '/^--- json$/,/^--- end$/p' | sed '1d;$d' >"$work/live.json"
    "$root/target/debug/voltaic" --replay "$work/live.record" --json --all >"$work/replayed.json" 2>"$work/replay.err" || true
    diff=$(python3 - "$work/live.json" "$work/replayed.json" <<'EOF'
import json, sys
try:
    live, replayed = (json.load(open(p)) for p in sys.argv[1:3])
except Exception as e:
    print(f"unreadable JSON: {e}"); sys.exit()
for key in ("batteries", "power_sources"):
    if live.get(key) != replayed.get(key):
        print(f"{key} differ: live {live.get(key)} replayed {replayed.get(key)}"); break
else:
    if not live.get("batteries"):
        print("the live JSON lists no battery")
EOF
)
    host "the live recording replays on the host to the guest's JSON" "$diff$(head -c 300 "$work/replay.err")"
else
    host "the live recording replays on the host to the guest's JSON" "no artifacts from the guest"
fi

passed=$(( $(grep -c '^ok - ' "$console" || true) + host_ok ))
failed=$(( $(grep -c '^not ok - ' "$console" || true) + host_fail ))
log "total $((SECONDS - t0)) s"
echo "kernel-test: $passed passed, $failed failed"
[ "$failed" = 0 ]
