#!/usr/bin/env bash
# `voltaic top` in a real terminal: tmux, 100x30, replaying samples/chromebook.
#
#   bash crates/voltaic-top/tests/tmux.sh [PATH/TO/voltaic]     (default: target/debug/voltaic)
#
# Checks what a user must see (battery name, percentage, state, time to empty, chart titles), that
# the readings keep coming (the status line's sample time moves), the help overlay, the units key,
# that mouse capture and the alternate screen are on while it runs, and that after `q` the process
# has ended with status 0 and the terminal is as it was: alternate screen left, cursor shown, mouse
# capture off, tty modes (raw mode) restored, no viewer frame left on the screen; and the same after a
# SIGTERM.
# Skips (exit 0, with a message) when tmux is not installed.
set -euo pipefail

root=$(cd "$(dirname "$0")/../../.." && pwd)
bin=${1:-$root/target/debug/voltaic}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac

if ! command -v tmux >/dev/null 2>&1; then
    echo "tmux.sh: SKIPPED: tmux is not installed (apt-get install tmux)"
    exit 0
fi
[ -x "$bin" ] || { echo "tmux.sh: no voltaic binary at $bin (cargo build -p voltaic-cli)" >&2; exit 1; }

# A private tmux server with no user configuration, removed on exit.
socket=voltaic-top-test-$$
tmux_() { tmux -L "$socket" -f /dev/null "$@"; }
trap 'tmux_ kill-server >/dev/null 2>&1 || true' EXIT
export LC_ALL=C.UTF-8 LANG=C.UTF-8
unset NO_COLOR COLORFGBG TMUX

session=top
fail() {
    echo "tmux.sh: FAILED: $*" >&2
    echo "---- pane ----" >&2
    tmux_ capture-pane -p -S - -t "$session" >&2 || true
    exit 1
}
# The screen, and the lines scrolled off it (tmux 3.3 scrolls a line off when it marks a pane dead).
pane() { tmux_ capture-pane -p -S - -t "$session"; }
flag() { tmux_ display-message -p -t "$session" "#{$1}"; }

# Waits up to $2 seconds (default 10) until the pane shows the fixed string $1.
wait_for() {
    local want=$1 limit=${2:-10} i
    for ((i = 0; i < limit * 10; i++)); do
        pane | grep -qF -- "$want" && return 0
        sleep 0.1
    done
    fail "\"$want\" did not appear within ${limit} s"
}

must_show() {
    local screen
    screen=$(pane)
    for want in "$@"; do
        grep -qF -- "$want" <<<"$screen" || fail "the screen does not show \"$want\""
    done
}

# The tty modes before and after, so that raw mode left on would be caught; then the exit status.
script=$(mktemp)
trap 'tmux_ kill-server >/dev/null 2>&1 || true; rm -f "$script"' EXIT
cat >"$script" <<SCRIPT
cd '$root' || exit 99
before=\$(stty -g)
'$bin' top --replay samples/chromebook
rc=\$?
after=\$(stty -g)
[ "\$before" = "\$after" ] && echo TTY-RESTORED || echo "TTY-CHANGED \$before -> \$after"
echo EXITED \$rc
# Stay until Enter, so the terminal's modes can be read before tmux marks the pane dead (a dead
# pane always shows its cursor hidden).
read -r line
SCRIPT
tmux_ new-session -d -s "$session" -x 100 -y 30 "sh '$script'"
tmux_ set-option -t "$session" remain-on-exit on >/dev/null

wait_for "L17M3PB0"
wait_for "sampled "
must_show "71 %" "discharging" "13 h 25 min to empty" "Charge %" "Power W" "Voltage V" \
    "Temperature °C" "voltaic top · replay samples/chromebook" "every 1 s"
[ "$(flag alternate_on)" = 1 ] || fail "the viewer is not on the alternate screen"
[ "$(flag mouse_any_flag)" = 1 ] || fail "mouse capture is not on"
echo "tmux.sh: battery shown"

# The sampler keeps sampling a static recording: the sample time in the status line moves on.
first=$(pane | grep -o 'sampled [0-9:]*' | head -1)
for ((i = 0; i < 50; i++)); do
    now=$(pane | grep -o 'sampled [0-9:]*' | head -1)
    [ "$now" != "$first" ] && break
    sleep 0.1
done
[ "$now" != "$first" ] || fail "no new sample within 5 s (still \"$first\")"
echo "tmux.sh: sampling ($first -> $now)"

tmux_ send-keys -t "$session" '?'
wait_for "any key closes this help" 5
must_show "pause / resume sampling" "quit"
tmux_ send-keys -t "$session" x
for ((i = 0; i < 50; i++)); do
    pane | grep -qF "any key closes this help" || break
    sleep 0.1
done
pane | grep -qF "any key closes this help" && fail "the help did not close"
echo "tmux.sh: help shown and closed"

tmux_ send-keys -t "$session" u
wait_for "48300 s to empty" 5
echo "tmux.sh: SI units"
tmux_ send-keys -t "$session" q

wait_for "EXITED" 10
must_show "EXITED 0" "TTY-RESTORED"
screen=$(pane)
for frame in "L17M3PB0" "Charge %" "voltaic top ·"; do
    grep -qF -- "$frame" <<<"$screen" && fail "the viewer's frame (\"$frame\") is still on the screen"
done
[ "$(flag alternate_on)" = 0 ] || fail "the alternate screen was not left"
[ "$(flag cursor_flag)" = 1 ] || fail "the cursor was left hidden"
[ "$(flag mouse_any_flag)" = 0 ] || fail "mouse capture was left on"
# The shell reads a line again: the tty is back in canonical mode.
tmux_ send-keys -t "$session" Enter
for ((i = 0; i < 50; i++)); do
    [ "$(flag pane_dead)" = 1 ] && break
    sleep 0.1
done
[ "$(flag pane_dead)" = 1 ] || fail "the shell after voltaic top did not end on Enter"
echo "tmux.sh: quit with status 0; terminal restored"

# `kill` (SIGTERM) ends the viewer like `q`: status 0 and the terminal restored.
session=term
tmux_ new-session -d -s "$session" -x 100 -y 30 "sh '$script'"
tmux_ set-option -t "$session" remain-on-exit on >/dev/null
wait_for "sampled "
shell_pid=$(flag pane_pid)
pkill -TERM -P "$shell_pid" || fail "no viewer process under the pane's shell ($shell_pid)"
wait_for "EXITED" 10
must_show "EXITED 0" "TTY-RESTORED"
[ "$(flag alternate_on)" = 0 ] || fail "the alternate screen was not left after SIGTERM"
[ "$(flag mouse_any_flag)" = 0 ] || fail "mouse capture was left on after SIGTERM"
echo "tmux.sh: SIGTERM ends the viewer with status 0; terminal restored"

# An external SIGINT (`kill -INT`, not Ctrl-C, which raw mode turns into a key) ends it the same way.
tmux_ kill-session -t "$session" >/dev/null 2>&1 || true
session=int
tmux_ new-session -d -s "$session" -x 100 -y 30 "sh '$script'"
tmux_ set-option -t "$session" remain-on-exit on >/dev/null
wait_for "sampled "
shell_pid=$(flag pane_pid)
pkill -INT -P "$shell_pid" || fail "no viewer process under the pane's shell ($shell_pid)"
wait_for "EXITED" 10
must_show "EXITED 0" "TTY-RESTORED"
[ "$(flag alternate_on)" = 0 ] || fail "the alternate screen was not left after SIGINT"
echo "tmux.sh: SIGINT ends the viewer with status 0; terminal restored"
echo "tmux.sh: ok"
