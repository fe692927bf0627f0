#!/usr/bin/env bash
# restart.sh SESSION SESSION_ID: a fresh agent in window 1 of SESSION, whose Claude session is
# SESSION_ID (a UUID the operator chose, so it knows which transcript is the next task's).
#
# The status file is reset first (state `starting`, window `agent`): from then on the status
# hook ignores everything but the new agent's SessionStart, so late hooks of the agent being
# killed cannot speak for the new one. SESSION_ID goes to agent/session-id, which the launcher
# passes as `--session-id` and removes. Then the pane is respawned with the launcher (-k kills
# the old agent); its pane id, cwd and remain-on-exit stay.
#
# Prints result=restarted and session_id=SESSION_ID, or result=not-ready with a detail (exit 4).
set -euo pipefail

session=$1 session_id=$2
so="$HOME/.sprite-orchestrator"

not_ready() {
    printf 'result=not-ready\ndetail=%s\n' "${1//$'\n'/ }"
    exit 4
}

[ -f "$so/bin/launcher.sh" ] || not_ready "the worker is not provisioned"
pane=$(tmux display-message -p -t "=$session:1" '#{pane_id}' 2>&1) || not_ready "$pane"
printf '{"hook_event_name":"OrchestratorReset"}' | TMUX_PANE=$pane bash "$so/bin/status-hook.sh"
mkdir -p "$so/agent"
printf '%s\n' "$session_id" >"$so/agent/.session-id.tmp"
mv -f "$so/agent/.session-id.tmp" "$so/agent/session-id"
out=$(tmux respawn-pane -k -t "$pane" bash "$so/bin/launcher.sh" 2>&1) || not_ready "$out"
printf 'result=restarted\nsession_id=%s\n' "$session_id"
