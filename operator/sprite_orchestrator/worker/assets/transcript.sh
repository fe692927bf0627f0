#!/usr/bin/env bash
# transcript.sh SESSION_ID WHAT LIMIT: the agent's transcript of Claude session SESSION_ID,
# ~/.claude/projects/<cwd>/<SESSION_ID>.jsonl (the session id names exactly one file).
#   WHAT=summary  only the lines a summary reads (`assistant` and `cost-state` records)
#   WHAT=all      the whole file
# Prints a header (result=found, size=<bytes of the file>, then an empty line) and at most the
# last LIMIT bytes of what was asked (the reader drops a cut first line), or result=missing.
set -uo pipefail

session_id=$1 what=$2 limit=$3
shopt -s nullglob
found=("$HOME"/.claude/projects/*/"$session_id".jsonl)
if [ ${#found[@]} -eq 0 ]; then
    printf 'result=missing\n'
    exit 0
fi
file=${found[0]}
printf 'result=found\nsize=%s\n\n' "$(wc -c <"$file")"
if [ "$what" = summary ]; then
    grep -E '"type": ?"(assistant|cost-state)"' "$file" | tail -c "$limit"
else
    tail -c "$limit" "$file"
fi
