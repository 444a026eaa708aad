"""The evidence pack: the only facts an explanation may rest on.

The ranker turns its score into ``Reason`` codes, each carrying the facts it rests on;
``Evidence`` bundles them with the product's own catalog facts. Nothing else reaches a
template or an LLM prompt, and the grounding check accepts only what is in here.

Explanation sources (``Explanation.source``):

- ``template``: the deterministic template text (mode ``template``).
- ``llm``: one LLM generation that passed the grounding check (mode ``llm``).
- ``best_of``: the judge's pick among several grounded LLM candidates (mode ``best_of``).
- ``cache``: a grounded LLM text served from the Redis cache (modes ``llm`` / ``best_of``).
- ``fallback_rejected``: every LLM text failed the grounding check; template text shown.
- ``fallback_timeout``: the LLM did not finish within the budget; template text shown.
- ``fallback_error``: the backend failed (down, bad response); template text shown.
- ``fallback_busy``: the explanation queue was full; template text shown.

An answer never waits for the LLM: an item whose text is still being written is shown
with ``template`` text and ``pending`` set, and its LLM text (or its settled fallback)
arrives on the recommendation's explanation stream.

``grounded`` is true for everything that is shown: template text is grounded by
construction, LLM text only after it passed the check.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

FactValue = str | int | float

ExplanationSource = Literal[
    "template",
    "llm",
    "best_of",
    "cache",
    "fallback_rejected",
    "fallback_timeout",
    "fallback_error",
    "fallback_busy",
]

FALLBACK_SOURCES: frozenset[str] = frozenset(
    {"fallback_rejected", "fallback_timeout", "fallback_error", "fallback_busy"}
)


class Reason(BaseModel):
    """One reason code from the ranker and the facts it rests on.

    ``code`` names the reason (``category_affinity``, ``brand_affinity``, ``trending``...);
    ``facts`` holds its evidence, e.g. ``{"category": "Trail Running", "views_7d": 4}``;
    ``weight`` is its share of the score (larger first).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1, description="The reason code, e.g. category_affinity.")
    facts: dict[str, FactValue] = Field(
        default_factory=dict, description="The facts this reason rests on."
    )
    weight: float = Field(default=1.0, description="Contribution to the score; larger first.")


class Evidence(BaseModel):
    """Everything an explanation for one recommended product may say."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: str = Field(min_length=1)
    title: str
    brand: str
    category: str
    price: float = Field(ge=0, description="Current list price.")
    discount: float = Field(default=0.0, ge=0, le=1, description="Fraction off, 0-1.")
    reasons: list[Reason] = Field(default_factory=list, description="Strongest first.")
    query: str | None = Field(default=None, description="The shopper's free-text request.")

    def fingerprint(self) -> str:
        """sha256 (hex) of the canonical JSON of the pack (keys sorted, UTF-8, compact):
        the explanation cache key and job id. Every fact is in it, the reasons' weights
        too (they order what a prompt says first)."""
        canonical = orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(canonical).hexdigest()

    def ordered_reasons(self) -> list[Reason]:
        """Reasons by weight, strongest first (stable for equal weights)."""
        return sorted(self.reasons, key=lambda r: -r.weight)


class Explanation(BaseModel):
    """The text shown next to a recommendation, and which path wrote it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    source: ExplanationSource
    grounded: bool

    @property
    def is_fallback(self) -> bool:
        return self.source in FALLBACK_SOURCES
