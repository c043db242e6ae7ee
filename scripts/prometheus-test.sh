#!/usr/bin/env bash
# The exporter against a real Prometheus: Debian's `prometheus` package scrapes `voltaic serve` replaying
# samples/thinkpad-ac, and the values are read back through Prometheus' HTTP query API.
#
#   bash scripts/prometheus-test.sh [PATH/TO/voltaic]     (default: target/debug/voltaic)
#
# Installs `prometheus` (it ships promtool), `curl` and `jq` with apt when missing, without letting the
# package start its system service (a policy-rc.d that refuses is put in place for the install when
# none exists). Runs its own Prometheus on loopback with a temporary configuration and data directory,
# on free ports, and stops everything on exit. Also checks, on the same server: `promtool check metrics`
# of both expositions, 405 for a POST, 404 for another path, and that a client that connects and sends
# nothing does not hold up a scrape.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/target/debug/voltaic}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
[ -x "$bin" ] || { echo "prometheus-test: no voltaic binary at $bin (cargo build -p voltaic-cli)" >&2; exit 1; }

need=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v jq >/dev/null 2>&1 || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
    echo "prometheus-test: installing ${need[*]}"
    policy=/usr/sbin/policy-rc.d
    made_policy=0
    if [ ! -e "$policy" ]; then
        # invoke-rc.d asks this before starting a service; 101 = "action not allowed".
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
    fi
    set +e
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"; } \
        >/tmp/voltaic-prometheus-apt.log 2>&1
    rc=$?
    set -e
    [ "$made_policy" = 1 ] && rm -f "$policy"
    [ $rc -eq 0 ] || { echo "prometheus-test: apt-get install failed; see /tmp/voltaic-prometheus-apt.log" >&2; exit 1; }
fi

work=$(mktemp -d /tmp/voltaic-prometheus.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "prometheus-test: FAILED: $*" >&2
    for log in "$work"/*.log; do [ -f "$log" ] && { echo "---- $log" >&2; tail -n 30 "$log" >&2; }; done
    exit 1
}

# voltaic on a port the kernel picks; it prints the address it listens on.
"$bin" serve --replay "$root/samples/thinkpad-ac" --listen 127.0.0.1:0 2>"$work/voltaic.log" &
pids+=($!)
addr=""
for _ in $(seq 100); do
    addr=$(sed -n 's|^voltaic: serving http://\(.*\)/metrics$|\1|p' "$work/voltaic.log")
    [ -n "$addr" ] && break
    sleep 0.1
done
[ -n "$addr" ] || fail "voltaic serve did not start"
echo "voltaic serve on $addr"

# The HTTP side, before Prometheus: status codes, both expositions through promtool, a silent client.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$addr/metrics")
[ "$code" = 405 ] || fail "POST /metrics gave $code, not 405"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/")
[ "$code" = 404 ] || fail "GET / gave $code, not 404"
exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}" # connects and sends nothing
curl -sf --max-time 5 "http://$addr/metrics" -o "$work/text.prom" || fail "a scrape waited for a silent client"
exec 3>&-
curl -sf --max-time 5 -H 'Accept: application/openmetrics-text; version=1.0.0' -D "$work/om.headers" \
    "http://$addr/metrics" -o "$work/om.prom" || fail "OpenMetrics scrape"
grep -qi '^content-type: application/openmetrics-text' "$work/om.headers" || fail "no OpenMetrics content type"
tail -n 1 "$work/om.prom" | grep -qx '# EOF' || fail "OpenMetrics exposition does not end with # EOF"
promtool check metrics <"$work/text.prom" || fail "promtool check metrics (Prometheus text)"
promtool check metrics <"$work/om.prom" || fail "promtool check metrics (OpenMetrics)"
echo "HTTP checks and promtool: ok"

# A free port for Prometheus: bind-and-release is racy, so try a few random ones.
prom_port=""
for _ in $(seq 20); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 4<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        prom_port=$port
        break
    fi
done
[ -n "$prom_port" ] || fail "no free port for Prometheus"
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: voltaic
    static_configs:
      - targets: ["$addr"]
EOF
promtool check config "$work/prometheus.yml" >/dev/null || fail "promtool check config"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
api="http://127.0.0.1:$prom_port/api/v1/query"

# query EXPR: the value of the one series EXPR gives, or nothing.
query() {
    curl -sf --max-time 5 --get --data-urlencode "query=$1" "$api" 2>/dev/null \
        | jq -r 'if .status == "success" and (.data.result | length) == 1 then .data.result[0].value[1] else empty end'
}
# Wait (at most 60 s) for the first scrape to land.
got=""
for _ in $(seq 120); do
    got=$(query 'voltaic_battery_charge_ratio{id="BAT0"}' || true)
    [ -n "$got" ] && break
    sleep 0.5
done
[ -n "$got" ] || fail "no voltaic sample in Prometheus after 60 s"
echo "Prometheus scraped voltaic"

expect() { # EXPR VALUE
    local v
    v=$(query "$1" || true)
    [ "$v" = "$2" ] || fail "$1 = '${v}', expected $2"
    echo "  $1 = $v"
}
expect 'up{job="voltaic"}' 1
expect 'voltaic_battery_charge_ratio{id="BAT0",kind="system",vendor="SMP",model="42T4977",serial="973"}' 0.32
expect 'voltaic_battery_state{id="BAT0",state="not_charging"}' 1
expect 'sum(voltaic_battery_state{id="BAT0"})' 1
expect 'voltaic_battery_energy_full_design_joules{id="BAT0"}' 140112
expect 'voltaic_battery_voltage_volts{id="BAT0"}' 14.526
expect 'voltaic_power_source_online{id="AC",kind="mains"}' 1
expect 'voltaic_battery_derived{id="BAT0",metric="voltaic_battery_state"}' 1
expect 'count(voltaic_battery_temperature_celsius)' ""
echo "prometheus-test: ok"
