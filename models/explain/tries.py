"""Which texts an item's explanation is written from, in order: its tries.

A try is a prompt style (``models.explain.prompt``), a temperature and a seed. ``llm``
mode asks for one text at a time until one passes the grounding check; ``best_of`` asks
for its candidates, and when none of them passes, goes on one try at a time like ``llm``.
The first tries are the configured style at warmer and warmer temperatures; when all of
them are rejected, the item does not give up to the template at once: the ``RESCUE``
tries ask differently (prompt styles that failed less often on what the first tries got
wrong, measured with the shipped model: docs/explanations.md), within a bounded number of
tries. Every text is checked; only a grounded one is ever shown.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from models.evidence import Evidence
from models.explain.backend import Prompt
from models.explain.grounding import GroundingCheck
from models.explain.judge import Candidate
from models.explain.prompt import build_prompt


@dataclass(frozen=True)
class Try:
    style: str
    temperature: float
    seed: int


# After the configured style's own tries: the same answer under a GBNF grammar (lower-case
# words and the evidence's names only), greedy and then warmer; the few-shot prompt
# greedy; the grammar with the few-shot examples.
RESCUE: tuple[Try, ...] = (
    Try("grammar", 0.0, 0),
    Try("fewshot", 0.0, 0),
    Try("grammar", 0.6, 4),
)


def own_tries(style: str, n: int) -> tuple[Try, ...]:
    """``n`` tries of ``style``, each warmer than the last (0.2, 0.6, 1.0, 1.2...)."""
    return tuple(Try(style, min(0.2 + 0.4 * r, 1.2), r) for r in range(n))


def plan(style: str, first: int, rescue: Sequence[Try] = RESCUE) -> tuple[Try, ...]:
    """An item's tries: ``first`` of its own style, then the rescue tries not among them."""
    own = own_tries(style, first)
    return own + tuple(t for t in dict.fromkeys(rescue) if t not in own)


@dataclass(frozen=True)
class TryJob:
    item: int
    round: int  # the index of its try in the item's plan


def plan_id(tries: Sequence[Try]) -> str:
    """A short name of a plan: rejected tries stored in the cache count only for it."""
    text = ";".join(f"{t.style},{t.temperature},{t.seed}" for t in tries)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class ItemState:
    candidates: list[Candidate] = field(default_factory=list)
    errors: int = 0
    timeouts: int = 0
    queued: int = 0  # tries of the plan asked for so far (``start`` included)
    start: int = 0  # tries an earlier job made and the check rejected: not asked again
    rejected_rounds: set[int] = field(default_factory=set)

    def rejected_prefix(self) -> int:
        """How many of the plan's first tries were made and rejected (earlier jobs' too)."""
        made = self.start
        while made in self.rejected_rounds:
            made += 1
        return made

    def complete(self, rounds: int) -> bool:
        """Every planned try came back with a rejected text: no timeout, no error, none
        skipped. Only then is a rejection the backend's final word on this evidence."""
        return self.rejected_prefix() == rounds

    def wants_more(self, rounds: int) -> bool:
        """Every try asked for so far came back and none was grounded: ask for the next."""
        answered = self.start + len(self.candidates) + self.errors
        grounded = any(c.verdict.grounded for c in self.candidates)
        return not grounded and answered == self.queued < rounds


@dataclass
class Generation:
    """One ``explain`` call's generation: its items, tries, check, states and jobs."""

    items: Sequence[Evidence]
    tries: tuple[Try, ...]
    check: GroundingCheck
    states: dict[int, ItemState]
    jobs: deque[TryJob]
    deadline: float
    prompts: dict[tuple[int, str], Prompt] = field(default_factory=dict)

    def prompt(self, item: int, style: str) -> Prompt:
        found = self.prompts.get((item, style))
        if found is None:
            found = self.prompts[item, style] = build_prompt(self.items[item], style)
        return found
