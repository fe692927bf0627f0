#!/usr/bin/env bash
# transcript.sh SESSION_ID WHAT LIMIT WAIT: the agent's transcript of Claude session
# SESSION_ID, ~/.claude/projects/<cwd>/<SESSION_ID>.jsonl (the session id names one file).
#   WHAT=summary  only the lines a summary reads (`assistant` and `cost-state` records)
#   WHAT=all      the whole file
# With WAIT > 0 it first waits up to WAIT tenths of a second for the session's last record,
# `cost-state`, which Claude writes as it exits (after everything else it had to write).
# Prints a header (result=found, size=<bytes of the file>, then an empty line) and at most the
# last LIMIT bytes of what was asked (the reader drops a cut first line), or result=missing.
set -uo pipefail

session_id=$1 what=$2 limit=$3 wait=$4
records='"type": ?"(assistant|cost-state)"'
shopt -s nullglob
found=("$HOME"/.claude/projects/*/"$session_id".jsonl)
if [ ${#found[@]} -eq 0 ]; then
    printf 'result=missing\n'
    exit 0
fi
file=${found[0]}
for ((i = 0; i < wait; i++)); do
    grep -qE '"type": ?"cost-state"' < <(tail -c 65536 "$file") && break
    sleep 0.1
done
printf 'result=found\nsize=%s\n\n' "$(wc -c <"$file")"
if [ "$what" = summary ]; then
    { grep -E "$records" "$file" || [ $? -eq 1 ]; } | tail -c "$limit" # 1: no such line yet
else
    tail -c "$limit" "$file"
fi
