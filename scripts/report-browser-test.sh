#!/usr/bin/env bash
# Opens `voltaic report` in a real headless browser (Debian's chromium) and checks what a reader gets:
#   - the page renders to a screenshot that is not blank (many distinct colours: text, grid, chart lines),
#   - the DOM chromium builds holds the four chart titles (as SVG <title> and headings), the pack identity,
#     and no <script> element,
#   - the page loads nothing from the network (chromium runs with every host mapped to nowhere).
# The data: 90 days generated from real recordings by `cargo run -p voltaic-history --example generate`.
# Installs chromium and ImageMagick with apt when missing. Usage: scripts/report-browser-test.sh [OUT_DIR]
# With UPDATE_SCREENSHOT=1, copies the screenshot to docs/report.png.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-$(mktemp -d)}
mkdir -p "$out"

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v identify >/dev/null 2>&1 || need+=(imagemagick)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"; } >"$out/apt.log" 2>&1 \
        || { echo "apt-get install ${need[*]} failed; see $out/apt.log" >&2; exit 1; }
fi

cargo build -q -p voltaic-cli -p voltaic-history --example generate --locked
# tmpfs when there is one: the generator commits thousands of transactions, each synced to disk.
data=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$data"' EXIT
db="$data/history.sqlite"
"$root/target/debug/examples/generate" "$db" 90 60
"$root/target/debug/voltaic" report --db "$db" -o "$out/report.html"

browse() {
    # --host-resolver-rules: any attempt to fetch from the network fails, so a report that needed it
    # would show broken parts in the screenshot and DOM.
    timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --host-resolver-rules="MAP * ~NOTFOUND" --window-size=900,1400 "$@" "file://$out/report.html" \
        2>>"$out/chromium.log"
}
browse --screenshot="$out/report.png" >/dev/null
browse --dump-dom >"$out/dom.html"

colours=$(identify -format '%k' "$out/report.png")
echo "screenshot: $(identify -format '%wx%h' "$out/report.png"), $colours distinct colours"
[ "$colours" -ge 50 ] || { echo "the screenshot looks blank ($colours colours)" >&2; exit 1; }

fail=0
for title in "Health over time" "Charge level, last 7 days" "Power draw on battery" "Cycle count"; do
    if grep -q "<title id=\"[a-z]*0-t\">$title</title>" "$out/dom.html" && grep -q "<h3>$title</h3>" "$out/dom.html"; then
        echo "chart: $title"
    else
        echo "missing chart title in the DOM: $title" >&2
        fail=1
    fi
done
grep -q '<h2>SANYO 00HW022 (serial 1242)</h2>' "$out/dom.html" || { echo "pack identity missing" >&2; fail=1; }
if grep -qi '<script' "$out/dom.html"; then echo "the report has a script element" >&2; fail=1; fi
[ $fail = 0 ] || exit 1

if [ "${UPDATE_SCREENSHOT:-0}" = 1 ]; then
    # The README shows the top of the page; 16 colours keep the PNG small.
    convert "$out/report.png" -crop 900x1400+0+0 -colors 16 -strip "$root/docs/report.png"
    echo "updated docs/report.png ($(stat -c %s "$root/docs/report.png") bytes)"
fi
echo "report browser test: ok ($out)"
