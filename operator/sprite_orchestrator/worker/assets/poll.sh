#!/usr/bin/env bash
# poll.sh SESSION: one observation of a worker's agent, printed as one JSON document:
#   server, session     whether the tmux server and SESSION exist
#   windows             {index: name}; window 1's name is the seed's status protocol
#   pane_id, pane_dead, pane_dead_status, pane_dead_signal, pane_pid   window 1's pane
#   agent_alive         the pane is alive and its process (the agent: the launcher execs it) too
#   activity, activity_age_ms   Claude Code's own view of itself, if the agent is Claude:
#                       idle|busy|waiting and how long ago it changed (see below), else null
#   now                 the machine's epoch seconds, to judge the age of status.time
#   status              ~/.sprite-orchestrator/status.json as written by the hook, or null
# `status` comes last and verbatim, so that a damaged status file cannot spoil the rest: the
# reader splits the document at `,"status":`. One tmux call on the common path.
set -uo pipefail

session=$1
so="$HOME/.sprite-orchestrator"
now=${EPOCHSECONDS:-$(date +%s)}

# json_string VAR VALUE: VAR becomes VALUE as a JSON string (control characters dropped).
json_string() {
    local s=${2//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//[[:cntrl:]]/}
    printf -v "$1" '"%s"' "$s"
}

# number VAR VALUE: VAR becomes VALUE if it is a non-negative integer, else null. Set in
# place, like json_string: a $(...) forks a subshell, and forks were half a poll's CPU.
number() { if [[ $2 =~ ^[0-9]{1,18}$ ]]; then printf -v "$1" '%s' "$2"; else printf -v "$1" null; fi; }

server=false has_session=false windows='' sep=''
pane=null dead=false dead_status=null dead_signal=null pid=null alive=false
format='#{window_index}|#{pane_id}|#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}'
format+='|#{pane_pid}|#{window_name}'
if listing=$(tmux list-windows -t "=$session" -F "$format" 2>/dev/null); then
    server=true has_session=true
    while IFS='|' read -r index pane_id pane_dead status signal pane_pid name; do
        [[ $index =~ ^[0-9]+$ ]] || continue
        json_string name "$name"
        windows+="$sep\"$index\":$name"
        sep=,
        [ "$index" = 1 ] || continue
        json_string pane "$pane_id"
        [ "$pane_dead" = 1 ] && dead=true
        number dead_status "$status"
        number dead_signal "$signal"
        number pid "$pane_pid"
        if [ "$dead" = false ] && [ "$pid" != null ] && kill -0 "$pid" 2>/dev/null; then
            alive=true
        fi
    done <<<"$listing"
elif tmux list-sessions >/dev/null 2>&1; then
    server=true
fi

# Claude Code 2.1.332 keeps ~/.claude/sessions/<pid>.json (undocumented: best effort) with
# status idle|busy|waiting, rewritten at once when a turn starts or ends, a dialog opens or
# closes, or Esc interrupts a turn, which runs no hook at all: then only this file knows.
activity=null activity_age=null
if [ "$alive" = true ] && [ -f "$HOME/.claude/sessions/$pid.json" ]; then
    session_file=$(<"$HOME/.claude/sessions/$pid.json")
    if [[ $session_file =~ \"status\":[[:space:]]*\"(idle|busy|waiting)\" ]]; then
        activity="\"${BASH_REMATCH[1]}\""
    fi
    now_ms=${EPOCHREALTIME:-}
    now_ms=${now_ms/[.,]/}
    now_ms=${now_ms:0:13}
    changed=''
    [[ $session_file =~ \"statusUpdatedAt\":[[:space:]]*([0-9]{13}) ]] && changed=${BASH_REMATCH[1]}
    if [ -n "$changed" ] && [[ $now_ms =~ ^[0-9]{13}$ ]]; then
        activity_age=$((now_ms - changed))
        ((activity_age >= 0)) || activity_age=0
    fi
fi

status=null
if [ -s "$so/status.json" ]; then status=$(<"$so/status.json"); fi

# On a Sprite, hold it awake while the agent works (keep-awake.sh; nothing elsewhere). An
# idle worker that holds nothing costs no process here.
state=''
[[ $status =~ \"state\":\"([a-z]+)\" ]] && state=${BASH_REMATCH[1]}
if [ "$state" = running ] || [ -f "$so/keep-awake" ]; then
    sock=${SPRITE_ORCHESTRATOR_API_SOCK:-/.sprite/api.sock}
    if [ -S "$sock" ] && [ -f "$so/bin/keep-awake.sh" ]; then
        bash "$so/bin/keep-awake.sh" "$state" </dev/null
    fi
fi

printf '{"server":%s,"session":%s,"windows":{%s},"pane_id":%s,"pane_dead":%s,' \
    "$server" "$has_session" "$windows" "$pane" "$dead"
printf '"pane_dead_status":%s,"pane_dead_signal":%s,"pane_pid":%s,"agent_alive":%s,' \
    "$dead_status" "$dead_signal" "$pid" "$alive"
printf '"activity":%s,"activity_age_ms":%s,' "$activity" "$activity_age"
printf '"now":%s,"status":%s}\n' "$now" "$status"
