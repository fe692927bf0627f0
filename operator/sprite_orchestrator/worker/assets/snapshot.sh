#!/usr/bin/env bash
# snapshot.sh REPO_DIR BRANCH [RESET_REF]: save the agent's work, then optionally reset.
#
# The seed's 30-minute commit rule, enforced without disturbing the agent: HEAD plus every
# uncommitted change (untracked files too, ignored ones not) becomes one commit on BRANCH,
# built in a private index, so the agent's own index and working tree are never touched.
# The branch is pushed to origin where the remote accepts it. With RESET_REF (after the
# work is saved, between tasks) the repo is reset to origin/RESET_REF (or RESET_REF; `-`
# means the remote's default branch) and cleaned for the next task.
#
# Prints commit=SHA, changed=yes|no, pushed=yes|no, reset=yes|no and detail=… lines.
# Exit 4: no repo at all (a machine wiped under the agent), so there is nothing to save.
set -uo pipefail

repo_dir=$1
branch=$2
reset_ref=${3:-}
cd "$HOME/$repo_dir" 2>/dev/null || { echo "detail=no repo at ~/$repo_dir"; exit 4; }
git rev-parse --verify -q HEAD >/dev/null || { echo "detail=the repo has no commit"; exit 3; }

export GIT_AUTHOR_NAME=sprite-orchestrator GIT_AUTHOR_EMAIL=orchestrator@localhost
export GIT_COMMITTER_NAME=sprite-orchestrator GIT_COMMITTER_EMAIL=orchestrator@localhost
export GIT_TERMINAL_PROMPT=0

index=$(mktemp)
trap 'rm -f "$index"' EXIT
cp "$(git rev-parse --git-path index)" "$index" 2>/dev/null || true
GIT_INDEX_FILE=$index git add -A . >/dev/null 2>&1
tree=$(GIT_INDEX_FILE=$index git write-tree) || { echo "detail=git write-tree failed"; exit 5; }
head=$(git rev-parse HEAD)
if [ "$tree" = "$(git rev-parse 'HEAD^{tree}')" ]; then
    commit=$head
    echo changed=no
else
    commit=$(git commit-tree "$tree" -p "$head" -m "wip: work saved by sprite-orchestrator on $branch") \
        || { echo "detail=git commit-tree failed"; exit 5; }
    echo changed=yes
fi
git update-ref "refs/heads/$branch" "$commit" 2>/dev/null ||
    { echo "detail=git update-ref refs/heads/$branch failed (a stale lock?)"; exit 5; }
echo "commit=$commit"

if git remote get-url origin >/dev/null 2>&1 &&
    timeout 60 git push -q --force origin "refs/heads/$branch:refs/heads/$branch" 2>/dev/null; then
    echo pushed=yes
else
    echo pushed=no
fi

if [ -n "$reset_ref" ]; then
    timeout 60 git fetch -q origin 2>/dev/null || true
    if [ "$reset_ref" = - ]; then
        default=$(git symbolic-ref -q --short refs/remotes/origin/HEAD)
        reset_ref=${default#origin/}
    fi
    target=$(git rev-parse -q --verify "origin/$reset_ref" || git rev-parse -q --verify "$reset_ref" \
        || echo "$head")
    if [ -n "$reset_ref" ]; then
        git checkout -q -f -B "$reset_ref" "$target" 2>/dev/null
    else
        git reset -q --hard "$target"
    fi && git clean -q -fd && echo reset=yes || echo reset=no
fi
exit 0
