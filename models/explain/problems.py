"""What the grounding check says about a text: its problems, and the facts it cites."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """Why a text was rejected: a ``kind`` for metrics and a human ``detail``."""

    kind: str
    detail: str


@dataclass(frozen=True)
class Verdict:
    """The check's answer for one text.

    ``cited`` are the evidence facts the text uses (fact labels such as
    ``category_affinity.views_7d``, ``query`` or ``claim:follow``); ``personal`` the subset
    that is about the shopper's own behaviour and interests (what the judge prefers);
    ``words`` the text's length in words.
    """

    problems: tuple[Problem, ...]
    cited: tuple[str, ...] = ()
    words: int = 0
    personal: tuple[str, ...] = ()

    @property
    def grounded(self) -> bool:
        return not self.problems

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.kind for p in self.problems))
