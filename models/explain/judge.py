"""The best_of judge: among grounded candidates, the most evidence in the fewest words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.explain.grounding import Verdict


@dataclass(frozen=True)
class Candidate:
    text: str
    verdict: Verdict


def pick_best(candidates: Sequence[Candidate]) -> Candidate | None:
    """The grounded candidate citing the most distinct facts; ties go to the shortest,
    then to the earliest. None when no candidate is grounded."""
    grounded = [(i, c) for i, c in enumerate(candidates) if c.verdict.grounded]
    if not grounded:
        return None
    _, best = min(grounded, key=lambda ic: (-len(ic[1].verdict.cited), ic[1].verdict.words, ic[0]))
    return best
