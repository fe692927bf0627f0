"""`python -m bench.hot FILE [N]`: the hottest functions of a py-spy raw profile.

Prints, for the N (30) functions seen most, the share of samples in which each is on the
stack (inclusive) and on top of it (self), so the slowest step is named, not guessed.
"""

from __future__ import annotations

import collections
import pathlib
import sys


def read(path: pathlib.Path) -> tuple[collections.Counter[str], collections.Counter[str], int]:
    """Inclusive and self sample counts per frame, and the total samples."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for row in path.read_text().splitlines():
        stack, _, count = row.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        n = int(count)
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    return inclusive, own, total


def main(argv: list[str]) -> int:
    inclusive, own, total = read(pathlib.Path(argv[0]))
    top = int(argv[1]) if len(argv) > 1 else 30
    print(f"{total} samples")
    print("-- on the stack (inclusive)")
    for frame, n in inclusive.most_common(top):
        print(f"{100 * n / total:5.1f}%  {frame}")
    print("-- on top (self)")
    for frame, n in own.most_common(top):
        print(f"{100 * n / total:5.1f}%  {frame}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
