#!/usr/bin/env bash
# Smoke test of the terminal UI on the real binary: it runs infertune in tmux at 100x30,
# drives it with send-keys and checks what capture-pane shows.
#
#   scripts/tui-smoke.sh            # builds bin/infertune first if it is missing
#   INFERTUNE_BIN=path scripts/tui-smoke.sh
#
# It fills a throwaway database with a short tune, then checks: the run browser (list,
# detail, probes pane, compare, quit); the live view of tune --tui (the probe in progress,
# quit asks once, n keeps going, q then y stops the search with exit 130 and the run
# resumable); and tui --watch following a run another process is measuring until it ends.
# It needs tmux (apt-get install tmux) and about two minutes; it prints each step and
# exits non-zero at the first check that fails, with the screen it saw.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${INFERTUNE_BIN:-$root/bin/infertune}
command -v tmux >/dev/null || { echo "tui-smoke: tmux not found (apt-get install tmux)" >&2; exit 2; }
[[ -x $bin ]] || make -C "$root" build >/dev/null
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

work=$(mktemp -d)
session=infertune-smoke-$$
cleanup() {
	tmux kill-session -t "$session" 2>/dev/null || true
	[[ -n ${bg:-} ]] && kill "$bg" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
db=$work/smoke.db
# A short tune of the tiny classifier over a small space.
tune=("$bin" tune --db "$db" --workload classify-tiny --slo p99=50ms --space precision=fp32,int8
	--space max_batch=1 --space max_queue_delay=0 --space threads=1 --probe-window 2s --probe-warmup 100ms)

step() { printf 'tui-smoke: %s\n' "$*"; }
fail() {
	printf 'tui-smoke: FAIL: %s\n--- screen ---\n' "$*" >&2
	tmux capture-pane -p -t "$session" >&2 2>/dev/null || true
	exit 1
}
screen() { tmux capture-pane -p -t "$session"; }
# wait_for TEXT [SECONDS]: until the screen shows TEXT.
wait_for() {
	local deadline=$((SECONDS + ${2:-20}))
	while ((SECONDS < deadline)); do
		screen 2>/dev/null | grep -qF -- "$1" && return 0
		sleep 0.2
	done
	fail "the screen never showed \"$1\""
}
# wait_gone: until the session has ended (the program quit).
wait_gone() {
	local deadline=$((SECONDS + ${1:-20}))
	while ((SECONDS < deadline)); do
		tmux has-session -t "$session" 2>/dev/null || return 0
		sleep 0.2
	done
	fail "the program did not quit"
}
# start CMD...: runs CMD in a fresh 100x30 session; its exit code lands in $work/exit.
start() {
	rm -f "$work/exit"
	tmux new-session -d -s "$session" -x 100 -y 30 -e NO_COLOR=1 -e TERM=xterm-256color \
		"$(printf '%q ' "$@"); echo \$? > $(printf '%q' "$work/exit")"
}
exit_code() {
	local deadline=$((SECONDS + 20))
	while ((SECONDS < deadline)); do
		[[ -s $work/exit ]] && { cat "$work/exit"; return; }
		sleep 0.2
	done
	fail "no exit code"
}

step "filling a database: two short tunes"
"${tune[@]}" --budget 60s >/dev/null 2>&1 || fail "the first tune failed"
"${tune[@]}" --budget 60s --strategy grid >/dev/null 2>&1 || fail "the second tune failed"

step "browser: run list, detail, probes, compare, quit"
start "$bin" tui --db "$db"
wait_for "runs (2)"
wait_for "classify-tiny"
tmux send-keys -t "$session" Enter
wait_for "run 1 · classify-tiny"
wait_for "trials ("
tmux send-keys -t "$session" Tab
wait_for "probes of trial"
tmux send-keys -t "$session" Escape # to the trials
sleep 0.5
tmux send-keys -t "$session" Escape # to the list
wait_for "runs (2)"
tmux send-keys -t "$session" Space j Space c
wait_for "compare runs 1, 2"
wait_for "req/s per core"
tmux send-keys -t "$session" q
wait_gone
[[ $(exit_code) == 0 ]] || fail "tui exited $(cat "$work/exit")"

step "live view: tune --tui; q asks, n keeps going, q then y stops the search"
start "${tune[@]}" --space precision=fp32,int8,int4 --space max_batch=1,4 --budget 2m --tui
wait_for "probe" 60
wait_for "samples to go" 60
tmux send-keys -t "$session" q
wait_for "stop the search?"
tmux send-keys -t "$session" n
sleep 1
screen | grep -qF "stop the search?" && fail "n did not dismiss the question"
tmux send-keys -t "$session" q
wait_for "stop the search?"
tmux send-keys -t "$session" y
code=$(exit_code)
[[ $code == 130 ]] || fail "tune --tui exited $code after a confirmed quit, want 130"
"$bin" report list --db "$db" | grep -q interrupted || fail "the stopped run is not marked interrupted"
"$bin" tune --db "$db" --resume 3 --budget 60s --probe-window 2s >/dev/null 2>&1 ||
	fail "tune --resume 3 failed after the stopped search"

step "watch: tui --watch follows a run measured by another process"
"${tune[@]}" --budget 60s --strategy grid >/dev/null 2>&1 &
bg=$!
for _ in $(seq 100); do
	"$bin" report list --db "$db" | grep -q running && break
	sleep 0.2
done
id=$("$bin" report list --db "$db" --json - | grep -o '"ID": *[0-9]*' | tail -1 | grep -o '[0-9]*$')
start "$bin" tui --db "$db" --watch "$id"
wait_for "run $id"
wait_for "running"
wait "$bg" || fail "the watched tune failed"
bg=
wait_for "status done" 20
tmux send-keys -t "$session" q
wait_gone
step "all checks passed"
