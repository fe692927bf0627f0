#!/usr/bin/env bash
# deliver.sh MARKER SESSION SHA256: paste the prompt on stdin into the agent (window 1 of
# SESSION), at most once per MARKER, and prove it (ARCHITECTURE §3).
#
# 1. stdin is read to a private file and must hash to SHA256: a stdin cut short by a dying
#    operator is never pasted.
# 2. ~/.sprite-orchestrator/tasks/MARKER is the claim. If it exists the prompt was delivered,
#    or a run died between claiming and recording: either way this run does not paste.
# 3. The claim is made (mkdir, atomic) *before* the paste, so no crash can lead to two pastes.
# 4. One tmux invocation loads the buffer, pastes it as a bracketed paste (-p) without turning
#    LF into CR (-r), deletes the buffer (-d) and presses Enter, aimed at the pane's %id.
# 5. MARKER/delivered records "sha256 bytes epoch session_id": the proof, with the Claude
#    session that got the prompt (as its SessionStart hook recorded it in status.json), whose
#    transcript is the task's.
#
# Prints key=value lines: result=pasted|already|corrupt|not-ready|failed, and detail, state,
# sha256, bytes, session_id, tmux_us where they apply.
set -euo pipefail

marker=$1 session=$2 want=$3
so="$HOME/.sprite-orchestrator"
claim="$so/tasks/$marker"
mkdir -p "$so/tasks" "$so/tmp"
prompt=$(mktemp "$so/tmp/prompt.XXXXXX")
trap 'rm -f "$prompt"' EXIT
cat >"$prompt"

if command -v sha256sum >/dev/null; then got=$(sha256sum "$prompt"); else got=$(shasum -a 256 "$prompt"); fi
got=${got%% *}
if [ "$got" != "$want" ]; then
    printf 'result=corrupt\ndetail=stdin hashed to %s\n' "$got"
    exit 3
fi

already() {
    local sha bytes when sid
    echo result=already
    if [ -f "$claim/delivered" ]; then
        read -r sha bytes when sid <"$claim/delivered"
        printf 'state=delivered\nsha256=%s\nbytes=%s\ntime=%s\n' "$sha" "$bytes" "$when"
        printf 'session_id=%s\n' "${sid:-}"
    elif [ -f "$claim/failed" ]; then
        echo state=failed
    else
        echo state=claimed
    fi
    exit 0
}

# agent_session: the session id the agent's SessionStart hook recorded, if it is a plain id.
agent_session() {
    local status='' re='"session_id":"([0-9A-Za-z_-]{1,128})"'
    [ -f "$so/status.json" ] && status=$(<"$so/status.json")
    if [[ $status =~ $re ]]; then printf '%s' "${BASH_REMATCH[1]}"; fi
}

not_ready() {
    printf 'result=not-ready\ndetail=%s\n' "${1//$'\n'/ }"
    exit 4
}

# readiness ALTERNATE: "ready", or why the agent cannot take a paste yet: "starting" (it was
# restarted and has not reported its SessionStart) or "mounting" (its SessionStart is less
# than ~2 s old and its pane is not on the alternate screen; ALTERNATE is tmux's flag).
readiness() {
    local status='' now=${EPOCHSECONDS:-$(date +%s)}
    [ -f "$so/status.json" ] && status=$(<"$so/status.json")
    if [[ $status =~ \"state\":\"starting\" ]]; then
        echo starting
    elif [ "$1" != 1 ] && [[ $status =~ \"event\":\"SessionStart\" ]] &&
        [[ $status =~ \"time\":([0-9]{1,15}) ]] && ((now - BASH_REMATCH[1] < 2)); then
        echo mounting
    else
        echo ready
    fi
}

# Wait (at most ~5 s) until the agent takes a paste as a paste. Claude Code 2.1.332 runs its
# SessionStart hook (which names the window agent:waiting) 50-100 ms before it asks the
# terminal for bracketed paste and then mounts its full-screen UI (measured); a paste in
# between arrives as keystrokes: tabs are eaten and the Enter may not submit. tmux 3.3a does
# not show whether bracketed paste is on, but it shows the alternate screen that follows:
# a pane on it is ready. An agent without a full-screen UI is taken as ready 1-2 s after its
# start. All this comes before the claim: a run that ends here has claimed nothing.
[ -d "$claim" ] && already
for ((tries = 0; ; tries++)); do
    info=$(tmux display-message -p -t "=$session:1" \
        '#{pane_id} #{pane_dead} #{pane_in_mode} #{alternate_on}' 2>&1) || not_ready "$info"
    read -r pane dead in_mode alternate <<<"$info"
    [ "$dead" = 0 ] || not_ready "the agent's pane $pane is dead"
    ready=$(readiness "$alternate")
    [ "$ready" = ready ] && break
    if ((tries >= 100)); then
        [ "$ready" = starting ] && not_ready "the agent has not started (no SessionStart yet)"
        break
    fi
    sleep 0.05
done

mkdir "$claim" 2>/dev/null || already
sid=$(agent_session)

# A human scrolling back in copy mode would swallow the Enter: leave the mode first. (The
# `+` form keeps an empty array usable under `set -u` in bash before 4.4.)
leave_mode=()
[ "$in_mode" = 1 ] && leave_mode=(copy-mode -q -t "$pane" \;)
started=${EPOCHREALTIME:-}
if ! out=$(tmux ${leave_mode[@]+"${leave_mode[@]}"} load-buffer -b "so-$marker" "$prompt" \; \
    paste-buffer -d -r -p -b "so-$marker" -t "$pane" \; send-keys -t "$pane" Enter 2>&1); then
    printf '%s\n' "$out" >"$claim/failed"
    printf 'result=failed\ndetail=%s\n' "${out//$'\n'/ }"
    exit 5
fi
elapsed=''
if [ -n "$started" ] && [ -n "${EPOCHREALTIME:-}" ]; then # bash 5 measures the tmux call
    elapsed=$((10#${EPOCHREALTIME/./} - 10#${started/./}))
fi
# Said first: whatever happens to the record, the operator must know the paste happened. A
# connection that dropped meanwhile (stdout gone) must not stop the record: the operator's
# next run reads it from the marker.
trap '' PIPE
printf 'result=pasted\ntmux_us=%s\nsession_id=%s\n' "$elapsed" "$sid" 2>/dev/null || true
printf '%s %s %s %s\n' "$want" "$(wc -c <"$prompt")" "${EPOCHSECONDS:-$(date +%s)}" "$sid" \
    >"$claim/.delivered.tmp"
mv -f "$claim/.delivered.tmp" "$claim/delivered"
