#!/usr/bin/env bash
# launcher.sh: starts the agent in tmux window 1 of a worker.
#
# The agent's argv and environment are files that provisioning wrote from stdin, never
# arguments of any command: ~/.sprite-orchestrator/agent/argv (NUL-terminated words) and
# ~/.sprite-orchestrator/agent/env (0600, `export NAME='value'` lines, secrets included).
#
# For Claude Code (and the demo agent, which takes the same flags) it appends what the argv
# does not set already:
#   --permission-mode MODE  from agent/permission-mode: Claude's default mode may open a dialog
#   --session-id UUID       from agent/session-id, written by provisioning (the first agent)
#                           and restart.sh (every later one) with the id the operator chose
#                           for the next task. The file is used for one launch only and removed: Claude refuses an id that is already in use
#                           ("Session ID ... is already in use") and would exit at once.
# The launcher then execs the agent, so the pane's pid is the agent's and a dead pane
# (remain-on-exit) keeps the agent's exit status for the operator to see.
set -uo pipefail

so="$HOME/.sprite-orchestrator"
argv=()
if [ -f "$so/agent/argv" ]; then
    while IFS= read -r -d '' word; do argv+=("$word"); done <"$so/agent/argv"
fi
if [ "${#argv[@]}" -eq 0 ]; then
    echo "launcher: no agent command in $so/agent/argv" >&2
    exit 127
fi

# A worker never phones home on its own. Measured with Claude Code 2.1.332 under strace:
# without these a fresh session made DNS queries and opened connections to port 443 of hosts
# other than ANTHROPIC_BASE_URL; with them its only connection was to ANTHROPIC_BASE_URL
# (its startup probe and the title request went too). An update would also swap the pinned
# CLI under a running task. Its children too (strace -f): with only those four, every start
# resolved downloads.claude.ai and ran git over ssh and https to clone
# github.com/anthropics/claude-plugins-official (the official plugin marketplace), API key or
# OAuth token alike; the fifth stops it (no DNS query at all). Defaults only: the pool's
# spec.agent.env, sourced next, wins.
export DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
export CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL=1

if [ -f "$so/agent/env" ]; then
    # shellcheck source=/dev/null
    . "$so/agent/env"
fi

mode=''
[ -f "$so/agent/permission-mode" ] && mode=$(<"$so/agent/permission-mode")
session_id=''
if [ -f "$so/agent/session-id" ]; then
    session_id=$(<"$so/agent/session-id")
    rm -f "$so/agent/session-id"
fi
[[ $session_id =~ ^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$ ]] || session_id=''

# has_option NAME...: whether the agent's own argv already sets one of these options.
has_option() {
    local word name
    for word in "${argv[@]:1}"; do
        for name in "$@"; do
            case $word in "$name" | "$name"=*) return 0 ;; esac
        done
    done
    return 1
}

case ${argv[0]##*/} in
    claude | demo-agent.py)
        if [ -n "$mode" ] && ! has_option --permission-mode --dangerously-skip-permissions; then
            argv+=(--permission-mode "$mode")
        fi
        if [ -n "$session_id" ] && ! has_option --session-id --resume -r --continue -c; then
            argv+=(--session-id "$session_id")
        fi
        ;;
esac

# Our bin first, so `demo-agent.py` resolves for machines that run the demo agent.
export PATH="$so/bin:$PATH"
exec "${argv[@]}"
