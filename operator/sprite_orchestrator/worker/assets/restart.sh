#!/usr/bin/env bash
# restart.sh SESSION: a fresh agent in window 1 of SESSION.
#
# The status file is reset first (state `starting`, window `agent`): from then on the status
# hook ignores everything but the new agent's SessionStart, so late hooks of the agent being
# killed cannot speak for the new one. Then the pane is respawned with the launcher (-k kills
# the old agent); its pane id, cwd and remain-on-exit stay.
#
# Prints result=restarted, or result=not-ready with a detail (exit 4).
set -euo pipefail

session=$1
so="$HOME/.sprite-orchestrator"

not_ready() {
    printf 'result=not-ready\ndetail=%s\n' "${1//$'\n'/ }"
    exit 4
}

[ -f "$so/bin/launcher.sh" ] || not_ready "the worker is not provisioned"
pane=$(tmux display-message -p -t "=$session:1" '#{pane_id}' 2>&1) || not_ready "$pane"
printf '{"hook_event_name":"OrchestratorReset"}' | TMUX_PANE=$pane bash "$so/bin/status-hook.sh"
out=$(tmux respawn-pane -k -t "$pane" bash "$so/bin/launcher.sh" 2>&1) || not_ready "$out"
echo result=restarted
