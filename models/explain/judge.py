"""The best_of judge: grounded first, then personal, then the most facts in the fewest words.

"Thought compression": among grounded candidates the one citing the most of the shopper's
own facts wins; then the one citing the most facts of any kind; then the shortest (the same
facts in fewer words); then the earliest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.explain.problems import Verdict


@dataclass(frozen=True)
class Candidate:
    text: str
    verdict: Verdict


def pick_best(candidates: Sequence[Candidate]) -> Candidate | None:
    """The judge's pick among grounded candidates; None when no candidate is grounded."""
    grounded = [(i, c) for i, c in enumerate(candidates) if c.verdict.grounded]
    if not grounded:
        return None

    def rank(pair: tuple[int, Candidate]) -> tuple[int, int, int, int]:
        i, c = pair
        return (-len(set(c.verdict.personal)), -len(c.verdict.cited), c.verdict.words, i)

    return min(grounded, key=rank)[1]
