#!/usr/bin/env bash
# launcher.sh: starts the agent in tmux window 1 of a worker.
#
# The agent's argv and environment are files that provisioning wrote from stdin, never
# arguments of any command: ~/.sprite-orchestrator/agent/argv (NUL-terminated words) and
# ~/.sprite-orchestrator/agent/env (0600, `export NAME='value'` lines, secrets included).
# `--permission-mode MODE` is appended for Claude Code when a mode is configured and the argv
# does not set one. The launcher then execs the agent, so the pane's pid is the agent's and a
# dead pane (remain-on-exit) keeps the agent's exit status for the operator to see.
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

if [ -f "$so/agent/env" ]; then
    # shellcheck source=/dev/null
    . "$so/agent/env"
fi

mode=''
[ -f "$so/agent/permission-mode" ] && mode=$(<"$so/agent/permission-mode")
if [ -n "$mode" ] && [ "${argv[0]##*/}" = claude ]; then
    case " ${argv[*]} " in
        *" --permission-mode "* | *" --permission-mode="*) ;;
        *) argv+=(--permission-mode "$mode") ;;
    esac
fi

# Our bin first, so `demo-agent.py` resolves for machines that run the demo agent.
export PATH="$so/bin:$PATH"
exec "${argv[@]}"
