"""Generated explanations cached in Redis, keyed by the evidence they were written from.

One entry per backend, mode and evidence pack (``features.store.explanations`` owns the key
and its commands; a page is one ``MGET``). ``<backend id>`` is e.g.
``local-smollm2-135m-instruct-q4_1`` or ``openai-gpt-4o-mini``. An entry is one of:

- a grounded text, with the version of the grounding check that passed it: a reader with
  the same check shows it without checking it again (the same rules on the same evidence
  give the same verdict), any other check (new rules, a new catalog) checks it first;
- the tries the grounding check rejected: the check's version, the plan they belong to
  (``plan``: the tries in order) and how many of its first tries were made and rejected.
  When that is every try of the plan, the item is answered with the template
  (``fallback_rejected``) without asking the backend again, as long as the same check would
  judge; any other check asks again from the first try. When time ran out before the plan
  did, the next job for the same evidence goes on from the first try not made yet instead
  of starting over, so an item always gets its whole plan in the end.

Any change to the evidence changes the fingerprint, so stale facts are never served; the
TTL bounds memory. Timeouts and backend errors are never stored as rejections (the tries
they cut short are simply not counted). A cache that is down or slow is a miss, never an
error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from features.store.explanations import cached_explanations, save_explanations
from features.store.runner import AsyncRunner
from shopmode.errors import StoreUnavailable

_SEP = "\x1f"  # unit separator: never in a check version, a plan id or a shown text
_TEXT, _REJECTED = "t", "r"


@dataclass(frozen=True)
class CachedOutcome:
    """What an earlier job decided for one evidence pack: a text, or rejected tries."""

    text: str | None = None
    # The version of the grounding check that passed ``text`` or rejected the tries.
    checked_by: str | None = None
    # Rejected tries: the plan's id, and how many of its first tries were rejected.
    plan: str | None = None
    rejected_tries: int = 0
    # Every try of the plan was made and rejected.
    rejected: bool = False


@dataclass(frozen=True)
class Rejection:
    """What a job's rejected tries leave for the next one."""

    plan: str
    tries: int  # the plan's first ``tries`` were made and rejected
    complete: bool  # that is every try of the plan


def encode_text(text: str, checked_by: str) -> str:
    return _SEP.join((_TEXT, checked_by, text))


def encode_rejection(rejection: Rejection, checked_by: str) -> str:
    done = "1" if rejection.complete else "0"
    return _SEP.join((_REJECTED, checked_by, rejection.plan, str(rejection.tries), done))


def decode(value: str | None) -> CachedOutcome | None:
    """A stored value as an outcome; None for nothing (or anything unreadable: a miss)."""
    if not value:
        return None
    kind, _, rest = value.partition(_SEP)
    if kind == _TEXT:
        checked_by, _, text = rest.partition(_SEP)
        return CachedOutcome(text=text, checked_by=checked_by) if text else None
    parts = rest.split(_SEP)
    if kind == _REJECTED and len(parts) == 4 and parts[2].isdigit():
        checked_by, plan, tries, complete = parts
        return CachedOutcome(
            checked_by=checked_by, plan=plan, rejected_tries=int(tries), rejected=complete == "1"
        )
    return None


class ExplanationCache:
    """Reads a page's cached outcomes in one round trip, and writes a job's."""

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
        flow = cached_explanations(backend_id, mode, fingerprints, cluster=self.runner.cluster)
        try:
            async with asyncio.timeout(self.timeout_s):
                found = await self.runner.run(flow)
        except (StoreUnavailable, TimeoutError):
            self.errors += 1
            return [None] * len(fingerprints)
        return [decode(value) for value in found]

    async def put_many(
        self,
        backend_id: str,
        mode: str,
        texts: Mapping[str, str],
        rejected: Mapping[str, Rejection] | None = None,
        *,
        checked_by: str,
    ) -> bool:
        """Store texts (passed by the check of version ``checked_by``), and rejected tries
        (rejected by it), by fingerprint; False (nothing raised) when Redis is unavailable."""
        values = {fp: encode_text(text, checked_by) for fp, text in texts.items()}
        for fp, rejection in (rejected or {}).items():
            values[fp] = encode_rejection(rejection, checked_by)
        if not values:
            return True
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.runner.run(save_explanations(backend_id, mode, values, self.ttl_s))
        except (StoreUnavailable, TimeoutError):
            self.errors += 1
            return False
        return True
