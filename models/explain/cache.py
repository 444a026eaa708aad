"""Generated explanations cached in Redis, keyed by the evidence they were written from.

One entry per backend and evidence pack (``features.store.explanations`` owns the key
and its fields): the texts of the modes that wrote one (``llm``, ``best_of``), or a mark
that every text of a mode failed the grounding check (show the template, do not ask the
backend again). ``<backend id>`` is e.g. ``local-smollm2-135m-instruct-q4_1`` or
``openai-gpt-4o-mini``. Any change to the evidence changes the fingerprint, so stale facts
are never served; the TTL bounds memory. Only grounded texts and complete rejections are
stored, never a timeout or a backend error (those may succeed next time). Each text is
stored with the version of the grounding check that passed it: a reader with the same check
shows it without checking it again, any other check (new rules, a new catalog) checks it
first. A cache that is down or slow is a miss, never an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from features.store.explanations import cached_explanations, save_explanations
from features.store.runner import AsyncRunner
from shopmode.errors import StoreUnavailable


@dataclass(frozen=True)
class CachedOutcome:
    """What an earlier request decided for one evidence pack: a text, or a rejection."""

    text: str | None = None
    rejected: bool = False
    # The version of the grounding check that passed ``text`` (``GroundingCheck.version``):
    # a reader whose check has the same version need not check the text again.
    checked_by: str | None = None


class ExplanationCache:
    """Reads and writes cached outcomes in one pipelined round trip per batch."""

    def __init__(self, runner: AsyncRunner, ttl_s: int = 86_400, timeout_s: float = 0.05) -> None:
        self.runner = runner
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self.errors = 0

    async def get_many(
        self, backend_id: str, mode: str, fingerprints: Sequence[str]
    ) -> list[CachedOutcome | None]:
        """Cached outcomes in order; all misses when Redis is down or slower than the timeout."""
        if not fingerprints:
            return []
        try:
            async with asyncio.timeout(self.timeout_s):
                found = await self.runner.run(cached_explanations(backend_id, mode, fingerprints))
        except (StoreUnavailable, TimeoutError):
            self.errors += 1
            return [None] * len(fingerprints)
        return [_outcome(text, rejected, checked) for text, rejected, checked in found]

    async def put_many(
        self,
        backend_id: str,
        mode: str,
        texts: Mapping[str, str],
        rejected: Collection[str] = (),
        *,
        checked_by: str,
    ) -> bool:
        """Store texts (passed by the check of version ``checked_by``), and rejections, by
        fingerprint; False (nothing raised) when Redis is unavailable."""
        if not texts and not rejected:
            return True
        try:
            async with asyncio.timeout(self.timeout_s):
                flow = save_explanations(backend_id, mode, texts, rejected, self.ttl_s, checked_by)
                await self.runner.run(flow)
        except (StoreUnavailable, TimeoutError):
            self.errors += 1
            return False
        return True


def _outcome(text: str | None, rejected: bool, checked_by: str | None) -> CachedOutcome | None:
    if text is not None:
        return CachedOutcome(text=text, checked_by=checked_by)
    if rejected:
        return CachedOutcome(rejected=True)
    return None
