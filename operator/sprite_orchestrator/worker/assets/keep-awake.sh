#!/usr/bin/env bash
# keep-awake.sh STATE: hold a Sprite awake while its agent works, through the Sprites Tasks
# API inside the sprite (HTTP on the unix socket /.sprite/api.sock, virtual host `sprite`).
#
# A sprite pauses ~30 s after its last exec, and a cold one loses its processes, tmux and the
# agent with them. While the operator polls, each poll is an exec; this holds the sprite when
# the operator cannot (restarting, or away longer than that): STATE `running` (the agent is in
# a turn, or waits in a dialog for a person) upserts the task `sprite-orchestrator-agent`
# with a 10-minute expiry, refreshed at most once a minute (both from keep-awake.conf, written
# by provisioning); any other state deletes it, so an idle worker may sleep. A hold that nobody
# refreshes expires on its own.
#
# Called by poll.sh on every poll and by the status hook on every event, in the background.
# Provider-agnostic: without the socket (Local, SSH) or without curl it does nothing. The
# socket's path can be moved with SPRITE_ORCHESTRATOR_API_SOCK (the tests' fake does).
# Prints nothing; always exits 0.
set -u
exec >/dev/null 2>&1

sock=${SPRITE_ORCHESTRATOR_API_SOCK:-/.sprite/api.sock}
[ -S "$sock" ] && command -v curl >/dev/null || exit 0
so="$HOME/.sprite-orchestrator"
held="$so/keep-awake"
url=http://sprite/v1/tasks/sprite-orchestrator-agent

api() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 --unix-socket "$sock" \
        -H 'Content-Type: application/json' "$@"
}

if [ "${1:-}" = running ]; then
    expire=10m refresh=60
    while IFS='=' read -r key value; do
        case $key in
            expire) [[ $value =~ ^[0-9]+[smh]$ ]] && expire=$value ;;
            refresh) [[ $value =~ ^[0-9]+$ ]] && refresh=$value ;;
        esac
    done <"$so/keep-awake.conf" || true
    # Refreshed well before it expires, and not on every poll: `held` keeps the time of the
    # last refresh.
    now=${EPOCHSECONDS:-$(date +%s)}
    last=0
    [ -f "$held" ] && last=$(<"$held")
    [[ $last =~ ^[0-9]+$ ]] && ((now - last < refresh)) && exit 0
    code=$(api -X PUT "$url" -d "{\"expire\":\"$expire\"}")
    case $code in 200 | 201) printf '%s\n' "$now" >"$held" ;; esac
elif [ -f "$held" ]; then
    code=$(api -X DELETE "$url")
    case $code in 204 | 404) rm -f "$held" ;; esac
fi
exit 0
