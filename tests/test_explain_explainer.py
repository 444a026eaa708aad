"""The Explainer's modes, judge and fallbacks, driven by scripted and hanging backends."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterator, Sequence

import pytest
import redis
import redis.cluster
from cluster import async_twin
from evidence_support import boots

from features.store.runner import AsyncRunner
from models.evidence import Evidence, Explanation
from models.explain import (
    Explainer,
    ExplanationCache,
    GroundingCheck,
    ScriptedBackend,
    TemplateBackend,
    TemplateWriter,
    Vocabulary,
)
from models.explain.tries import RESCUE, Try
from shopmode.errors import InvalidInput, LLMUnavailable

CHECK = GroundingCheck(Vocabulary(brands=["Northpeak", "Cedarwood"], categories=["Tents"]))


GOOD = "You viewed 4 hiking boots this week, and these Northpeak boots are 20% off."
SHORT_GOOD = "These Northpeak boots are 20% off."
INVENTED = "These Northpeak boots ship free and are 50% off."


def explain(
    explainer: Explainer, items: list[Evidence], mode: str, budget_s: float = 5.0
) -> list[Explanation | None]:
    return asyncio.run(explainer.explain(items, mode=mode, budget_s=budget_s))


@pytest.fixture
def scripted() -> Iterator[ScriptedBackend]:
    backend = ScriptedBackend()
    yield backend
    backend.release()


def test_a_grounded_llm_text_is_shown_as_llm(scripted: ScriptedBackend) -> None:
    scripted.enqueue(GOOD)
    [shown] = explain(Explainer(scripted, CHECK), [boots()], "llm")
    assert shown == Explanation(text=GOOD, source="llm", grounded=True)
    prompt, options = scripted.history[0]
    assert "Northpeak Waterproof Hiking Boots" in prompt.user
    assert options.max_tokens == 48


def test_an_invented_or_garbage_text_falls_back_to_the_template(
    scripted: ScriptedBackend,
) -> None:
    scripted.enqueue(INVENTED, "%%%% ### 0x0 ??")
    explainer = Explainer(scripted, CHECK)
    shown = explain(explainer, [boots("p1"), boots("p2")], "llm")
    writer = TemplateWriter()
    assert [e.source for e in shown if e] == ["fallback_rejected", "fallback_rejected"]
    assert [e.text for e in shown if e] == [writer.write(boots("p1")), writer.write(boots("p2"))]
    assert all(e and e.grounded for e in shown)
    assert explainer.counts["candidates_rejected"] == 2
    assert explainer.counts["rejected_offer"] == 1
    assert explainer.counts["rejected_garbage"] == 1


def test_a_hanging_backend_gives_template_text_within_the_budget() -> None:
    hanging = ScriptedBackend(default=GOOD, delay_s=60.0)
    explainer = Explainer(hanging, CHECK)
    try:
        shown = explain(explainer, [boots("p1"), boots("p2")], "llm", budget_s=0.2)
    finally:
        hanging.release()
        explainer.close()
    # had the explainer waited for the backend, it would show the backend's text
    assert [e.source for e in shown if e] == ["fallback_timeout", "fallback_timeout"]
    assert shown[0]
    assert shown[0].text == TemplateWriter().write(boots("p1"))
    assert explainer.counts["fallback_timeout"] == 2


def test_a_late_failure_is_settled_quietly(caplog: pytest.LogCaptureFixture) -> None:
    # A generation that fails after the deadline, while the service's loop runs on: its
    # error must not surface as asyncio's "Future exception was never retrieved".
    late = ScriptedBackend(delay_s=0.4)
    late.enqueue(LLMUnavailable("the model did not finish before the deadline"))
    explainer = Explainer(late, CHECK)

    async def serve_on() -> list[Explanation | None]:
        shown = await explainer.explain([boots()], mode="llm", budget_s=0.05)
        await asyncio.sleep(0.8)  # the backend raises meanwhile
        return shown

    try:
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            [shown] = asyncio.run(serve_on())
            gc.collect()
    finally:
        explainer.close()
    assert shown
    assert shown.source == "fallback_timeout"
    assert late.history, "the backend was asked"
    assert "never retrieved" not in caplog.text


def test_a_failing_backend_gives_template_text(scripted: ScriptedBackend) -> None:
    scripted.enqueue(LLMUnavailable("connection refused"))
    explainer = Explainer(scripted, CHECK)
    [shown] = explain(explainer, [boots()], "llm")
    assert shown
    assert shown.source == "fallback_error"
    assert shown.text == TemplateWriter().write(boots())


def test_best_of_keeps_the_grounded_text_citing_most_facts(scripted: ScriptedBackend) -> None:
    scripted.enqueue(INVENTED, SHORT_GOOD, GOOD)
    explainer = Explainer(scripted, CHECK, best_of=3)
    [shown] = explain(explainer, [boots()], "best_of")
    assert shown == Explanation(text=GOOD, source="best_of", grounded=True)
    options = [o for _, o in scripted.history]
    assert len({(o.seed, o.temperature) for o in options}) == 3


def test_a_serialised_backend_works_in_priority_order_round_robin() -> None:
    serial = ScriptedBackend(default=SHORT_GOOD, concurrent=False)
    items = [boots(f"p{i}") for i in range(3)]
    shown = explain(Explainer(serial, CHECK, best_of=2), items, "best_of")
    asked = [prompt.evidence.product_id for prompt, _ in serial.history]
    assert asked == ["p0", "p1", "p2", "p0", "p1", "p2"]
    assert all(e and e.source == "best_of" for e in shown)


def test_modes_none_and_template_and_a_non_generative_backend() -> None:
    explainer = Explainer(TemplateBackend(), CHECK)
    assert explain(explainer, [boots()], "none") == [None]
    for mode in ("template", "llm", "best_of"):
        [shown] = explain(explainer, [boots()], mode)
        assert shown == Explanation(
            text=TemplateWriter().write(boots()), source="template", grounded=True
        )


def test_an_unknown_mode_names_the_field() -> None:
    with pytest.raises(InvalidInput) as err:
        explain(Explainer(TemplateBackend()), [boots()], "poetry")
    assert err.value.field == "explain"


def explain_cached(
    store: redis.Redis | redis.cluster.RedisCluster,
    backend: ScriptedBackend,
    items: list[Evidence],
    mode: str,
    rescue: Sequence[Try] = RESCUE,
) -> list[Explanation | None]:
    async def go() -> list[Explanation | None]:
        client = async_twin(store)
        # Connected first, as the service's client is: a cluster client's first command
        # also discovers the nodes, which can outlast the cache's 50 ms on a busy machine.
        await client.ping()
        explainer = Explainer(
            backend,
            CHECK,
            cache=ExplanationCache(AsyncRunner(client), 600),
            best_of=3,
            rescue=rescue,
        )
        try:
            return await explainer.explain(items, mode=mode, budget_s=5.0)
        finally:
            explainer.close()
            await client.aclose()

    return asyncio.run(go())


def test_a_repeated_page_asks_the_backend_only_for_what_failed(
    store_client: redis.Redis | redis.cluster.RedisCluster,
) -> None:
    serial = ScriptedBackend(concurrent=False)
    # p1's rejected text gets every other try of its plan after the others' first ones
    # (the rescue tries included): rejected each time.
    tries = len(Explainer(serial, CHECK).tries("llm"))
    assert tries > 3
    serial.enqueue(GOOD, INVENTED, LLMUnavailable("connection reset"), *[INVENTED] * (tries - 1))
    items = [boots(f"p{i}") for i in range(3)]
    first = explain_cached(store_client, serial, items, "llm")
    serial.default = SHORT_GOOD
    second = explain_cached(store_client, serial, items, "llm")
    asked = [prompt.evidence.product_id for prompt, _ in serial.history]
    assert [e and e.source for e in first] == ["llm", "fallback_rejected", "fallback_error"]
    assert [e and e.source for e in second] == ["cache", "fallback_rejected", "llm"]
    # the rejected p1 is not asked again
    assert asked == ["p0", "p1", "p2", *["p1"] * (tries - 1), "p2"]
    assert second[0] == Explanation(text=GOOD, source="cache", grounded=True)
    assert second[1] == first[1]
    assert second[1]
    assert second[1].text == TemplateWriter().write(items[1])


def test_best_of_caches_a_rejection_only_when_every_round_answered(
    store_client: redis.Redis | redis.cluster.RedisCluster,
) -> None:
    serial = ScriptedBackend(concurrent=False)
    # round robin: p0 p1 p0 p1 p0 p1; p1's second round fails, so p1 is not settled
    serial.enqueue(INVENTED, INVENTED, INVENTED, LLMUnavailable("reset"), INVENTED, INVENTED)
    items = [boots("p0"), boots("p1")]
    first = explain_cached(store_client, serial, items, "best_of", rescue=())
    serial.default = GOOD
    second = explain_cached(store_client, serial, items, "best_of", rescue=())
    asked = [prompt.evidence.product_id for prompt, _ in serial.history[6:]]
    assert [e and e.source for e in first] == ["fallback_rejected", "fallback_rejected"]
    assert [e and e.source for e in second] == ["fallback_rejected", "best_of"]
    # p1's first round was made and rejected by this check: only the rounds after it
    assert asked == ["p1", "p1"]
    assert [options.seed for _, options in serial.history[6:]] == [1, 2]
    assert second[1] == Explanation(text=GOOD, source="best_of", grounded=True)


def test_an_item_rejected_by_its_own_tries_is_written_by_a_rescue_try() -> None:
    serial = ScriptedBackend(concurrent=False)
    explainer = Explainer(serial, CHECK)
    tries = explainer.tries("llm")
    own = [t for t in tries if t.style == explainer.style][:3]
    assert len(tries) > len(own) == 3
    serial.enqueue(INVENTED, INVENTED, INVENTED, "%%%% ### 0x0 ??", GOOD)
    [shown] = explain(explainer, [boots()], "llm")
    assert shown == Explanation(text=GOOD, source="llm", grounded=True)
    asked = [(prompt, options) for prompt, options in serial.history]
    assert len(asked) == 5  # and no more once a text is grounded
    # the rescue asks differently: another prompt (a grammar-held answer) or temperature
    first_rescue = tries[3]
    assert (first_rescue.style, first_rescue.temperature) != (own[0].style, own[0].temperature)
    for (prompt, options), planned in zip(asked, tries, strict=False):
        assert options.temperature == planned.temperature
        assert (prompt.grammar is not None) == (planned.style == "grammar")
    assert explainer.counts["candidates_rejected"] == 4


def test_best_of_goes_on_one_rescue_try_at_a_time_until_one_is_grounded() -> None:
    serial = ScriptedBackend(concurrent=False)
    explainer = Explainer(serial, CHECK, best_of=2)
    serial.enqueue(INVENTED, INVENTED, INVENTED, INVENTED, SHORT_GOOD, INVENTED, GOOD)
    # round robin p0 p1 p0 p1 (all rejected), then the rescue: p0 p1 (p0 grounded), p1
    shown = explain(explainer, [boots("p0"), boots("p1")], "best_of")
    asked = [prompt.evidence.product_id for prompt, _ in serial.history]
    assert asked == ["p0", "p1", "p0", "p1", "p0", "p1", "p1"]
    assert shown == [
        Explanation(text=SHORT_GOOD, source="best_of", grounded=True),
        Explanation(text=GOOD, source="best_of", grounded=True),
    ]


def test_rescue_tries_are_bounded_and_then_the_template_stays() -> None:
    serial = ScriptedBackend(default=INVENTED, concurrent=False)
    explainer = Explainer(serial, CHECK)
    [shown] = explain(explainer, [boots()], "llm")
    assert shown == Explanation(
        text=TemplateWriter().write(boots()), source="fallback_rejected", grounded=True
    )
    assert len(serial.history) == len(explainer.tries("llm")) <= 8
