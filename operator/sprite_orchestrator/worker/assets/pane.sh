#!/usr/bin/env bash
# pane.sh SESSION LINES: what window 1 of SESSION shows, with up to LINES lines of scrollback
# (wrapped lines joined), as `tmux attach` would show it. Exit 3 if there is no such window.
set -uo pipefail

session=$1 lines=$2
tmux capture-pane -p -J -S "-$lines" -t "=$session:1" 2>/dev/null || exit 3
