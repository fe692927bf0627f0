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
# 5. MARKER/delivered records "sha256 bytes epoch": the proof.
#
# Prints key=value lines: result=pasted|already|corrupt|not-ready|failed, and detail, state,
# sha256, bytes, tmux_us where they apply.
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
    local sha bytes when
    echo result=already
    if [ -f "$claim/delivered" ]; then
        read -r sha bytes when <"$claim/delivered"
        printf 'state=delivered\nsha256=%s\nbytes=%s\ntime=%s\n' "$sha" "$bytes" "$when"
    elif [ -f "$claim/failed" ]; then
        echo state=failed
    else
        echo state=claimed
    fi
    exit 0
}

not_ready() {
    printf 'result=not-ready\ndetail=%s\n' "${1//$'\n'/ }"
    exit 4
}

[ -d "$claim" ] && already
info=$(tmux display-message -p -t "=$session:1" '#{pane_id} #{pane_dead} #{pane_in_mode}' 2>&1) ||
    not_ready "$info"
read -r pane dead in_mode <<<"$info"
[ "$dead" = 0 ] || not_ready "the agent's pane $pane is dead"

mkdir "$claim" 2>/dev/null || already

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
# Said first: whatever happens to the record, the operator must know the paste happened.
printf 'result=pasted\ntmux_us=%s\n' "$elapsed"
printf '%s %s %s\n' "$want" "$(wc -c <"$prompt")" "${EPOCHSECONDS:-$(date +%s)}" \
    >"$claim/.delivered.tmp"
mv -f "$claim/.delivered.tmp" "$claim/delivered"
