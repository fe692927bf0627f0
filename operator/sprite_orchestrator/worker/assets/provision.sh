#!/usr/bin/env bash
# provision.sh: the steps that make a machine a worker, one subcommand per step, run by
# worker/provisioning.py as `bash -c SCRIPT provision.sh STEP ARGS...`. Arguments are names the
# operator validated; URLs, refs, keys, the agent's argv and env arrive as a tar on stdin.
#
# Every step is idempotent and resumable: a completed step leaves a marker in
# ~/.sprite-orchestrator/steps/ (holding the fingerprint of its inputs, where they can change)
# or a result that proves it (the clone's .git, the tmux session), and is skipped when that is
# there; a half-done step is redone from its start. Step output is appended to
# ~/.sprite-orchestrator/provision.log under a `==> step` header.
#
# Protocol: prints `step=ran` or `step=skipped` and exits 0; on failure prints `step=failed`,
# then the tail of the step's output, and exits with the failing command's status.
set -euo pipefail
umask 022

so="$HOME/.sprite-orchestrator"
log="$so/provision.log"
steps="$so/steps"
stage=''

# fail MESSAGE: a failure before or around a step's commands.
fail() {
    printf 'step=failed\n%s\n' "$*"
    printf '%s\n' "$*" >>"$log" 2>/dev/null || true
    exit 2
}

init() {
    mkdir -p "$so" "$steps" "$so/tmp"
    chmod 700 "$so"
    touch "$log"
}

done_already() { [ -f "$steps/$1" ] && [ "$(<"$steps/$1")" = "$2" ]; }

mark() {
    printf '%s\n' "$2" >"$steps/.$1.tmp"
    mv -f "$steps/.$1.tmp" "$steps/$1"
}

# lock: one provisioning run at a time, taken before a step looks at its marker. A run
# orphaned by a dead operator (say, its setup script still going) finishes first, and the next
# run then finds its marker instead of running the step a second time.
lock() {
    command -v flock >/dev/null || return 0
    exec 9>>"$so/provision.lock"
    flock 9
}

# unpack: the tar on stdin into a fresh staging directory. A truncated archive fails here,
# before any file is replaced.
unpack() {
    stage=$(mktemp -d "$so/tmp/stage.XXXXXX")
    trap 'rm -rf "$stage"' EXIT
    tar -x -o -f - -C "$stage" || fail "could not unpack the files sent (truncated stdin?)"
}

# install_staged: move each staged file to the same path under HOME, one rename each.
install_staged() {
    local file
    (cd "$stage" && find . -type f -print0) | while IFS= read -r -d '' file; do
        file=${file#./}
        mkdir -p "$(dirname "$HOME/$file")"
        mv -f "$stage/$file" "$HOME/$file"
        printf 'installed ~/%s\n' "$file"
    done
}

# run_step NAME COMMAND...: run COMMAND with its output appended to the log under a header;
# on failure print the tail of that output and exit with COMMAND's status.
run_step() {
    local name=$1 start rc=0
    shift
    start=$(wc -c <"$log")
    printf '\n==> %s %s\n' "$name" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$log"
    # In the background, because errexit is ignored inside a function run under `||`. The lock
    # (fd 9) is not passed on: a daemon started by a setup script must not hold it forever.
    (
        set -euo pipefail
        "$@"
    ) </dev/null >>"$log" 2>&1 9>&- &
    wait "$!" || rc=$?
    if [ "$rc" -ne 0 ]; then
        printf '<== %s failed with exit code %s\n' "$name" "$rc" >>"$log"
        printf 'step=failed\n'
        tail -c "+$((start + 1))" "$log" | tail -c 8192 # trimmed to whole lines by the reader
        exit "$rc"
    fi
    printf '<== %s done\n' "$name" >>"$log"
}

step_prepare() { # FINGERPRINT; stdin: the assets under .sprite-orchestrator/bin
    lock
    if done_already prepare "$1"; then echo step=skipped && return; fi
    unpack
    run_step prepare install_staged
    mark prepare "$1"
    echo step=ran
}

step_clone() { # REPO_DIR; stdin: ~/.sprite-orchestrator/{clone/{url,ref},deploy_key,known_hosts}
    lock
    if [ -d "$HOME/$1/.git" ]; then echo step=skipped && return; fi
    unpack
    install_staged >/dev/null
    run_step clone clone "$1"
    echo step=ran
}

# clone REPO_DIR: into a temporary directory, then one rename, so a half clone never counts.
clone() {
    local repo="$HOME/$1" tmp="$HOME/.$1.clone" url ref
    url=$(<"$so/clone/url")
    ref=$(<"$so/clone/ref")
    export GIT_TERMINAL_PROMPT=0
    if [ -s "$so/deploy_key" ]; then
        # Only the deploy key, only the known hosts the operator sent: no user or system
        # config, no agent, no prompt, and an unknown or changed host key is refused.
        GIT_SSH_COMMAND="ssh -F /dev/null -i $(printf %q "$so/deploy_key")"
        GIT_SSH_COMMAND+=" -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none"
        GIT_SSH_COMMAND+=" -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null"
        GIT_SSH_COMMAND+=" -o UserKnownHostsFile=$(printf %q "$so/known_hosts")"
        export GIT_SSH_COMMAND
    fi
    rm -rf "$tmp"
    git clone -- "$url" "$tmp"
    if [ -n "$ref" ]; then git -C "$tmp" checkout -q "$ref" --; fi
    if [ -n "${GIT_SSH_COMMAND:-}" ]; then
        git -C "$tmp" config core.sshCommand "$GIT_SSH_COMMAND" # later fetches and pushes too
    fi
    if [ -e "$repo" ]; then
        rmdir "$repo" || {
            echo "$repo exists and is not a git checkout: move it away" >&2
            return 1
        }
    fi
    mv "$tmp" "$repo"
    echo "cloned into ~/$1 at $(git -C "$repo" log -1 --format='%h %s')"
}

step_setup() { # REPO_DIR SCRIPT
    lock
    if done_already setup "$2"; then echo step=skipped && return; fi
    if [ ! -f "$HOME/$1/$2" ]; then
        printf '\n==> setup: no %s in ~/%s, nothing to run\n' "$2" "$1" >>"$log"
        echo step=skipped && return
    fi
    run_step setup run_setup "$1" "$2"
    mark setup "$2"
    echo step=ran
}

run_setup() {
    cd "$HOME/$1"
    echo "running $2 in ~/$1"
    bash "$2"
}

# agent-info REPO_DIR FINGERPRINT: what the operator needs to merge the agent's config:
# NUL-separated HOME, the repo's real path, then for ~/.claude/settings.json and ~/.claude.json
# a presence flag (1 or 0) and the content.
step_agent_info() {
    if done_already agent "$2"; then echo step=skipped && return; fi
    printf 'info\0%s\0%s\0' "$HOME" "$(cd "$HOME/$1" && pwd -P)"
    local file
    for file in "$HOME/.claude/settings.json" "$HOME/.claude.json"; do
        if [ -f "$file" ]; then printf '1\0%s\0' "$(<"$file")"; else printf '0\0\0'; fi
    done
}

step_agent() { # FINGERPRINT; stdin: the agent's argv, env and mode, Claude's config files
    lock
    if done_already agent "$1"; then echo step=skipped && return; fi
    unpack
    run_step agent install_staged
    mark agent "$1"
    echo step=ran
}

step_tmux() { # SESSION REPO_DIR SESSION_ID
    local have
    lock
    have=$(windows "$1")
    if grep -qx 0 <<<"$have" && grep -qx 1 <<<"$have"; then echo step=skipped && return; fi
    run_step tmux make_session "$1" "$HOME/$2" "$3"
    echo step=ran
}

windows() { tmux list-windows -t "=$1" -F '#{window_index}' 2>/dev/null || true; }

# make_session SESSION REPO SESSION_ID: window 0 `shell`, window 1 `agent` running the
# launcher, with remain-on-exit so that a dead agent stays observable (pane_dead and its exit
# status). The first agent's Claude session is SESSION_ID, the operator's choice, as restart.sh
# does for every later one: agent/session-id is written before the launcher reads it.
make_session() {
    local session=$1 repo=$2 session_id=$3 have
    if ! tmux has-session -t "=$session" 2>/dev/null; then
        tmux new-session -d -s "$session" -n shell -c "$repo"
        echo "created tmux session $session"
    fi
    have=$(windows "$session")
    if ! grep -qx 0 <<<"$have"; then
        tmux new-window -d -t "=$session:0" -n shell -c "$repo"
    fi
    if ! grep -qx 1 <<<"$have"; then
        # A status file left by a previous agent must not speak for the new one.
        printf '{"hook_event_name":"OrchestratorReset"}' | bash "$so/bin/status-hook.sh"
        mkdir -p "$so/agent"
        printf '%s\n' "$session_id" >"$so/agent/.session-id.tmp"
        mv -f "$so/agent/.session-id.tmp" "$so/agent/session-id"
        tmux new-window -d -t "=$session:1" -n agent -c "$repo" bash "$so/bin/launcher.sh" \; \
            set-option -w -t "=$session:1" remain-on-exit on
        echo "started the agent in window 1 of $session"
    fi
}

step_log() { # MAX_BYTES
    if [ -f "$log" ]; then tail -c "$1" "$log"; fi
}

command=${1:-}
shift || true
case $command in
    log) step_log "$@" ;;
    prepare | clone | setup | agent-info | agent | tmux)
        init
        "step_${command//-/_}" "$@"
        ;;
    *) fail "unknown provisioning step: $command" ;;
esac
