"""Explainer: the explanation for each recommended item, within a total time budget.

Modes (docs/architecture.md, decision 6): ``none`` (no text), ``template`` (instant), ``llm``
(one grounded generation per item; a rejected text gets another try, after the other items'
first ones) and ``best_of`` (several candidates per item; the judge keeps the grounded one
citing the most evidence in the fewest words). Both go on through the rescue tries while no
text is grounded (``models.explain.tries``). Generation runs in threads; a backend that
cannot run concurrently (the local model) works through the items in priority order, and
whatever is not done at the deadline gets template text. Every LLM text is
grounding-checked before it is shown; a rejected, failed or late one falls back to the
template, and ``Explanation.source`` says which happened. With a cache, a grounded text is
served again as ``cache``, and an item whose every try was rejected is answered
``fallback_rejected`` from the cache without asking the backend again; timeouts and
backend errors are never cached, and an item whose time ran out part way through its
tries goes on after the rejected ones next time (``models.explain.cache``).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, get_args

from models.evidence import Evidence, Explanation, ExplanationSource
from models.explain.backend import LLMBackend
from models.explain.cache import CachedOutcome, ExplanationCache, Rejection
from models.explain.grounding import GroundingCheck
from models.explain.judge import Candidate, pick_best
from models.explain.prompt import DEFAULT_STYLE, clean_output
from models.explain.template import TemplateWriter
from models.explain.tries import RESCUE, Generation, ItemState, Try, TryJob, plan, plan_id
from shopmode.errors import InvalidInput

Mode = Literal["none", "template", "llm", "best_of"]
MODES: tuple[str, ...] = get_args(Mode)


def _settle_late(future: asyncio.Future[Any]) -> None:
    """A generation that ends after its deadline: its outcome no longer matters, and
    reading it keeps asyncio from logging "exception was never retrieved"."""
    if not future.cancelled():
        future.exception()


class Explainer:
    """Writes explanations with ``backend``, shows only what ``check`` accepts.

    ``counts`` tallies outcomes for metrics: one of ``template``, ``llm``, ``best_of``,
    ``cache_hit``, ``fallback_rejected``, ``fallback_timeout``, ``fallback_error`` per item
    shown, plus ``cache_miss``, ``cache_error``, ``cache_hit_rejected`` (a cached rejection,
    also counted as ``fallback_rejected``), ``candidates``, ``candidates_grounded``,
    ``candidates_rejected`` and ``rejected_<kind>`` per grounding-problem kind.
    """

    def __init__(
        self,
        backend: LLMBackend,
        check: GroundingCheck | None = None,
        *,
        cache: ExplanationCache | None = None,
        writer: TemplateWriter | None = None,
        max_tokens: int = 48,
        best_of: int = 3,
        max_workers: int = 4,
        style: str = DEFAULT_STYLE,
        backend_id: str | None = None,
        llm_attempts: int = 3,
        rescue: Sequence[Try] = RESCUE,
    ) -> None:
        self.backend = backend
        self.check = check or GroundingCheck()
        self.cache = cache
        self.writer = writer or TemplateWriter()
        self.max_tokens = max_tokens
        self.best_of = best_of
        self.max_workers = max_workers
        self.style = style
        self.llm_attempts = llm_attempts
        self.rescue = tuple(rescue)
        # Whose texts the cache holds: the backend's own id, or (for a process that only
        # reads what separate workers wrote) the id of the backend those workers run.
        self.backend_id = backend_id or backend.id
        self.counts: Counter[str] = Counter()
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="explain")

    def template(self, evidence: Evidence) -> Explanation:
        return Explanation(text=self.writer.write(evidence), source="template", grounded=True)

    async def explain(
        self, items: Sequence[Evidence], mode: str = "template", budget_s: float = 1.5
    ) -> list[Explanation | None]:
        """One explanation per item (``None`` for all in mode ``none``), in item order."""
        if mode not in MODES:
            raise InvalidInput(f"must be one of {', '.join(MODES)}, got {mode!r}", "explain")
        if budget_s < 0:
            raise InvalidInput("must not be negative", "budget_s")
        if mode == "none":
            return [None] * len(items)
        if mode == "template" or not self.backend.generative or not items:
            self.counts["template"] += len(items)
            return [self.template(e) for e in items]
        deadline = time.monotonic() + budget_s
        check = self.check  # one check for the whole call, the one the cache is told of
        fingerprints = [e.fingerprint() for e in items]
        tries = self.tries(mode)
        plan = plan_id(tries)
        cached = await self._cached(mode, fingerprints)
        out = self._settled(items, cached, check)
        todo = [i for i, e in enumerate(out) if e is None]
        self.counts["cache_miss"] += len(todo) if self.cache else 0
        # Tries an earlier job made and this check rejected are not asked again.
        starts = {i: _resume(cached[i], check.version, plan) for i in todo}
        states = await self._generate(items, todo, mode, tries, check, deadline, starts)
        fresh: dict[str, str] = {}
        rejected: dict[str, Rejection] = {}
        for i in todo:
            explanation = self._decide(items[i], states[i], mode, len(tries))
            out[i] = explanation
            if explanation.source in ("llm", "best_of"):
                fresh[fingerprints[i]] = explanation.text
            elif (made := states[i].rejected_prefix()) > starts[i]:
                rejected[fingerprints[i]] = Rejection(plan, made, made == len(tries))
        if self.cache is not None and (fresh or rejected):
            errors = self.cache.errors
            await self.cache.put_many(
                self.backend_id, mode, fresh, rejected, checked_by=check.version
            )
            self.counts["cache_error"] += self.cache.errors - errors
        return out

    async def from_cache(
        self, items: Sequence[Evidence], mode: str, fingerprints: Sequence[str] | None = None
    ) -> list[Explanation | None]:
        """What the cache settles: a grounded text (``cache``), a rejection of every try by
        this check (``fallback_rejected``, template text) or None (to be written)."""
        fingerprints = fingerprints or [e.fingerprint() for e in items]
        return self._settled(items, await self._cached(mode, list(fingerprints)), self.check)

    def _settled(
        self,
        items: Sequence[Evidence],
        cached: Sequence[CachedOutcome | None],
        check: GroundingCheck,
    ) -> list[Explanation | None]:
        out: list[Explanation | None] = [None] * len(items)
        version = check.version
        for i, found in enumerate(cached):
            if found is None:
                continue
            if found.text is not None and (
                # Passed by this very check on this very evidence (the key): its verdict
                # stands. Any other check (new rules, another catalog) checks it again.
                found.checked_by == version or check.check(found.text, items[i]).grounded
            ):
                out[i] = Explanation(text=found.text, source="cache", grounded=True)
                self.counts["cache_hit"] += 1
            elif found.rejected and found.checked_by == version:
                text = self.writer.write(items[i])
                out[i] = Explanation(text=text, source="fallback_rejected", grounded=True)
                self.counts["fallback_rejected"] += 1
                self.counts["cache_hit_rejected"] += 1
        return out

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def tries(self, mode: str) -> tuple[Try, ...]:
        """The texts an item may be written from, in order (``models.explain.tries``):
        ``best_of`` candidates or the ``llm`` mode's attempts (another only after a
        rejection, warmer each time: the first grounded text is the one shown), then the
        rescue tries while none is grounded."""
        first = self.best_of if mode == "best_of" else self.llm_attempts
        return plan(self.style, first, self.rescue)

    async def _cached(self, mode: str, fingerprints: list[str]) -> list[CachedOutcome | None]:
        if self.cache is None:
            return [None] * len(fingerprints)
        errors = self.cache.errors
        texts = await self.cache.get_many(self.backend_id, mode, fingerprints)
        self.counts["cache_error"] += self.cache.errors - errors
        return texts

    async def _generate(
        self,
        items: Sequence[Evidence],
        todo: list[int],
        mode: str,
        tries: tuple[Try, ...],
        check: GroundingCheck,
        deadline: float,
        starts: dict[int, int],
    ) -> dict[int, ItemState]:
        # Round-robin in priority order: every item gets a first text before any gets a
        # second, so a short budget degrades best_of to llm rather than to the template.
        # An item an earlier job got part way through goes on from its first try not made.
        width = self.best_of if mode == "best_of" else 1
        states: dict[int, ItemState] = {}
        for i in todo:
            start = starts.get(i, 0)
            states[i] = ItemState(queued=min(start + width, len(tries)), start=start)
        jobs = deque(
            TryJob(i, r)
            for k in range(width)
            for i in todo
            if (r := states[i].start + k) < states[i].queued
        )
        run = Generation(items, tries, check, states, jobs, deadline)
        workers = self.max_workers if self.backend.can_run_concurrently else 1
        tasks = [asyncio.create_task(self._work(run)) for _ in range(min(workers, len(jobs)))]
        try:
            if tasks:
                timeout = max(0.0, deadline - time.monotonic())
                await asyncio.wait(tasks, timeout=timeout)
        finally:
            # Cancelled (a worker shutting down) or out of time: no try is started after
            # this, and none runs on into a closed executor.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return states

    async def _work(self, run: Generation) -> None:
        loop = asyncio.get_running_loop()
        jobs, deadline = run.jobs, run.deadline
        while jobs and time.monotonic() < deadline:
            job = jobs.popleft()
            state = run.states[job.item]
            attempt = run.tries[job.round]
            options = self.backend.Options(
                max_tokens=self.max_tokens, temperature=attempt.temperature, seed=attempt.seed
            )
            prompt = run.prompt(job.item, attempt.style)
            future = loop.run_in_executor(
                self._executor, self.backend.complete, prompt, options, deadline
            )
            try:
                done, _ = await asyncio.wait({future}, timeout=deadline - time.monotonic())
            except asyncio.CancelledError:
                state.timeouts += 1
                future.add_done_callback(_settle_late)
                raise
            if not done:
                state.timeouts += 1
                future.add_done_callback(_settle_late)
                return
            try:
                completion = future.result()
            except Exception:  # every failure of a backend means: show the template
                if time.monotonic() >= deadline:
                    state.timeouts += 1
                else:
                    state.errors += 1
                continue
            text = clean_output(completion.text)
            # The check is CPU work: off the event loop, which answers requests meanwhile.
            verdict = await loop.run_in_executor(
                self._executor, run.check.check, text, run.items[job.item]
            )
            state.candidates.append(Candidate(text, verdict))
            self.counts["candidates"] += 1
            if verdict.grounded:
                self.counts["candidates_grounded"] += 1
                continue
            self.counts["candidates_rejected"] += 1
            state.rejected_rounds.add(job.round)
            self.counts.update(f"rejected_{kind}" for kind in verdict.kinds)
            if state.wants_more(len(run.tries)):
                # Rejected: the next try, after the others' first texts (a page's top
                # items are not held up by one item's retry).
                jobs.append(TryJob(job.item, state.queued))
                state.queued += 1

    def _decide(self, evidence: Evidence, state: ItemState, mode: str, rounds: int) -> Explanation:
        best = pick_best(state.candidates)
        if best is not None:
            source: ExplanationSource = "best_of" if mode == "best_of" else "llm"
            self.counts[source] += 1
            return Explanation(text=best.text, source=source, grounded=True)
        if state.candidates and (state.complete(rounds) or state.errors):
            # Every text that came back was rejected (the plan's end, or errors cut it);
            # a plan cut short by time settles as a timeout: the next job goes on with it.
            source = "fallback_rejected"
        elif state.errors:
            source = "fallback_error"
        else:
            source = "fallback_timeout"
        self.counts[source] += 1
        return Explanation(text=self.writer.write(evidence), source=source, grounded=True)


def _resume(cached: CachedOutcome | None, version: str, plan: str) -> int:
    """Where an item's tries go on: after those an earlier job made and this very check
    rejected, under the same plan; from the first try otherwise."""
    if cached is None or cached.checked_by != version or cached.plan != plan:
        return 0
    return cached.rejected_tries
