#!/usr/bin/env bash
# status-hook.sh: the one Claude Code hook of a worker, installed for SessionStart,
# UserPromptSubmit, PreToolUse, PostToolUse, PermissionRequest, Notification, Stop, StopFailure
# and SessionEnd. Claude runs it with the hook's JSON on stdin and $TMUX_PANE inherited. It
# renames the agent's tmux window (the seed's status protocol: agent:waiting|running|completed|
# error) and writes ~/.sprite-orchestrator/status.json atomically for the operator's poll.
#
# Contract: prints nothing (a hook's stdout can reach the model), always exits 0, needs only
# bash, grep and coreutils (no jq, no python), and takes ~20 ms (PreToolUse hooks
# hold up every tool call).
#
# status.json `state` is waiting | running | completed | error, or
#   ended     after SessionEnd: the agent exited. `prior_state` keeps the state before it, so
#             the operator still sees that the task completed; the window becomes agent:error,
#             because the worker can no longer take a task until its agent is restarted.
#   starting  written by the operator (event OrchestratorReset) just before it (re)starts the
#             agent: only a SessionStart moves on from it, so a dying agent's late hooks are
#             ignored. The window is named plain `agent` until then.
# A SessionStart after a compaction (source "compact") changes nothing: the turn goes on.
# `needs_input` turns true on PermissionRequest and on a permission_prompt or agent_needs_input
# Notification, leaving state and window alone (the seed's four names stay the vocabulary);
# the next state-bearing event turns it false. Notification idle_prompt changes nothing but
# `event`, `time` and `seq`. Events of a session other than the recorded one are ignored,
# except SessionStart, which starts recording a new session.

exec >/dev/null 2>&1
trap 'exit 0' EXIT

so="$HOME/.sprite-orchestrator"
status_file="$so/status.json"

# The flat string fields we need, read straight from the JSON: a key is a quote that no
# backslash precedes (inside a JSON string every quote is escaped), then "name": "value". The
# first occurrence wins: Claude sends the common fields before any nested tool input. Values
# stay JSON-escaped, as status.json needs them. The rest of stdin is drained so that Claude
# never writes into a closed pipe.
key_re='[^\\]"(hook_event_name|session_id|transcript_path|notification_type|error|reason'
key_re+='|source)"'
key_re+='[[:space:]]*:[[:space:]]*"([^"\\]|\\.)*"'
matches=$({
    LC_ALL=C grep -a -o -E "$key_re" | head -n 64
    cat >/dev/null
})

event='' sid='' transcript='' ntype='' err='' reason='' source=''
while IFS= read -r line; do
    key=${line#*\"}
    key=${key%%\"*}
    value=${line#*\""$key"\"}
    value=${value#*:}
    value=${value#*\"}
    value=${value%\"}
    case $key in
        hook_event_name) : "${event:=$value}" ;;
        session_id) : "${sid:=$value}" ;;
        transcript_path) : "${transcript:=$value}" ;;
        notification_type) : "${ntype:=$value}" ;;
        error) : "${err:=$value}" ;;
        reason) : "${reason:=$value}" ;;
        source) : "${source:=$value}" ;;
    esac
done <<<"$matches"

mkdir -p "$so"
if command -v flock >/dev/null; then
    exec 9>>"$so/status.lock"
    flock -w 2 9
fi

prev=''
[ -f "$status_file" ] && prev=$(<"$status_file")

# prev_string NAME: a string field of the previous status.json, as stored (JSON-escaped).
prev_string() {
    local re='"'"$1"'":"(([^"\\]|\\.)*)"'
    if [[ $prev =~ $re ]]; then printf '%s' "${BASH_REMATCH[1]}"; fi
}
prev_state=$(prev_string state)
prev_sid=$(prev_string session_id)
prev_needs=false
[[ $prev =~ \"needs_input\":true ]] && prev_needs=true
prev_seq=0
[[ $prev =~ \"seq\":([0-9]{1,15}) ]] && prev_seq=${BASH_REMATCH[1]}

case $event in
    SessionStart | OrchestratorReset) ;;
    *)
        [ "$prev_state" = starting ] && exit 0
        [ -n "$prev_sid" ] && [ -n "$sid" ] && [ "$prev_sid" != "$sid" ] && exit 0
        ;;
esac

needs=false prior='' window=''
case $event in
    SessionStart)
        state=waiting
        # After a compaction mid-turn the agent goes on working: nothing changes.
        [ "$source" = compact ] && state=${prev_state:-running} needs=$prev_needs window=-
        ;;
    UserPromptSubmit | PreToolUse | PostToolUse) state=running ;;
    Stop) state=completed ;;
    StopFailure) state=error ;;
    SessionEnd)
        state=ended prior=$prev_state window=agent:error
        [ "$prev_state" = ended ] && prior=$(prev_string prior_state)
        ;;
    OrchestratorReset) state=starting sid='' transcript='' window=agent ;;
    PermissionRequest) state=${prev_state:-running} needs=true ;;
    Notification)
        state=${prev_state:-waiting} needs=$prev_needs
        case $ntype in permission_prompt | agent_needs_input) needs=true ;; esac
        ;;
    *) exit 0 ;;
esac
if [ "$event" != OrchestratorReset ]; then
    : "${sid:=$prev_sid}" "${transcript:=$(prev_string transcript_path)}"
fi
[ "$event" = StopFailure ] || err=''
[ "$event" = Notification ] || ntype=''
[ "$event" = SessionEnd ] || reason=''
case $state in waiting | running | completed | error) : "${window:=agent:$state}" ;; esac
case $event in PermissionRequest | Notification) window='' ;; esac
[ "$window" = - ] && window=

# json VAR VALUE: VAR becomes the JSON string "VALUE" (already escaped), or null when empty.
json() {
    if [ -n "$2" ]; then printf -v "$1" '"%s"' "$2"; else printf -v "$1" null; fi
}
j_sid='' j_transcript='' j_err='' j_ntype='' j_reason='' j_prior=''
json j_sid "$sid"
json j_transcript "$transcript"
json j_err "$err"
json j_ntype "$ntype"
json j_reason "$reason"
json j_prior "$prior"
now=${EPOCHSECONDS:-$(date +%s)}
seq=$((10#$prev_seq + 1))

tmp="$status_file.$$.tmp"
printf '{"state":"%s","event":"%s","session_id":%s,"transcript_path":%s,"needs_input":%s,' \
    "$state" "$event" "$j_sid" "$j_transcript" "$needs" >"$tmp"
printf '"error":%s,"notification_type":%s,"reason":%s,"prior_state":%s,"time":%s,"seq":%s}\n' \
    "$j_err" "$j_ntype" "$j_reason" "$j_prior" "$now" "$seq" >>"$tmp"
mv -f "$tmp" "$status_file"

# On a Sprite, hold it awake while the agent works, release it when the turn ends.
if [ "$state" = running ] || [ -f "$so/keep-awake" ]; then
    sock=${SPRITE_ORCHESTRATOR_API_SOCK:-/.sprite/api.sock}
    if [ -S "$sock" ] && [ -f "$so/bin/keep-awake.sh" ]; then
        bash "$so/bin/keep-awake.sh" "$state" </dev/null &
    fi
fi

# Target the pane, never a window name: the name is what we are changing.
if [ -n "$window" ] && [ -n "${TMUX_PANE:-}" ]; then
    tmux rename-window -t "$TMUX_PANE" "$window"
fi
