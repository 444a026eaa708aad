"""One reason path: every ``Reason`` is built in ``models/recommend/reasons.py``, so a code
carries the same facts whichever path put the product on the list."""

from __future__ import annotations

import ast
from pathlib import Path

from features_support import BASE_TS, small_catalog

from features.definitions import DAY
from features.events.schema import EventType
from features.state import RecentItem, UserState
from models.recommend import reasons as why
from models.recommend.cold_start import ColdStartPlan, cold_picks

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / "models" / "recommend" / "reasons.py"
CATALOG = small_catalog()  # p1 Nord trail shoe, p*4 Nord jacket launched at BASE_TS, p 5 a cap


def test_reasons_are_built_in_one_module() -> None:
    built = []
    for package in ("features", "models", "service", "world"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                called = node.func if isinstance(node, ast.Call) else None
                name = getattr(called, "id", getattr(called, "attr", None))
                if name == "Reason" and path != HOME:
                    built.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert built == []


def test_a_declared_interest_reads_the_same_from_the_model_and_for_a_newcomer() -> None:
    fan = UserState(
        user_id="fan", at=BASE_TS, followed_brands={"Nord": BASE_TS}, liked_categories={"Caps": 1.0}
    )
    facts = why.ReasonFacts(CATALOG)
    for position in (0, 3, 4):  # followed brand, followed brand, liked category
        promoted = why.declared(CATALOG, fan, position, weight=0.25)
        ranked = facts.reason("declared_interest", fan, position, None, None, None, 0.25)
        assert promoted is not None
        assert ranked == promoted
    shoe, cap = why.declared(CATALOG, fan, 0), why.declared(CATALOG, fan, 4)
    assert shoe is not None
    assert (shoe.code, shoe.facts, shoe.weight) == ("followed_brand", {"brand": "Nord"}, 1.0)
    assert cap is not None
    assert (cap.code, cap.facts) == ("liked_category", {"category": "Caps"})
    assert why.declared(CATALOG, fan, 1) is None


def test_a_new_arrival_reads_the_same_from_the_model_and_in_an_exploration_slot() -> None:
    later = BASE_TS + 3 * DAY + 60
    shopper = UserState(user_id="s", at=later)
    ranked = why.ReasonFacts(CATALOG).reason("freshness", shopper, 3, None, None, None, 0.5)
    assert ranked == why.new_arrival(CATALOG, 3, later, weight=0.5)
    assert ranked is not None
    assert ranked.facts == {"days_since_launch": 3}
    # Launched 50 days ago: too old to be called new by the model.
    assert why.ReasonFacts(CATALOG).reason("freshness", shopper, 0, None, None, None, 0.5) is None


def test_shop_wide_reasons_read_the_same_for_a_stranger_and_from_the_model() -> None:
    stranger = UserState(user_id="s", at=BASE_TS)
    order = CATALOG.index_of(["p 5", "p1"])
    picks = cold_picks(
        ColdStartPlan("trending"),
        CATALOG,
        CATALOG.price >= 0,
        (),
        by_trending=order[:1],
        by_popularity=order[1:],
        limit=2,
    )
    facts = why.ReasonFacts(CATALOG)
    trending = facts.reason("trending", stranger, int(order[0]), None, None, None, 1.0)
    popular = facts.reason("popularity", stranger, int(order[1]), None, None, None, 1.0)
    assert [p.reason for p in picks] == [trending, popular]
    assert picks[0].reason.facts == {"category": "Caps"}


def test_a_query_match_never_carries_the_raw_text_unless_given() -> None:
    assert why.query_match(None, "trail shoe").facts == {"matched_terms": "trail shoe"}
    asked = why.query_match("shoes for trails", None, weight=0.3)
    assert asked.facts == {"query": "shoes for trails"}
    assert asked.weight == 0.3


def test_recently_viewed_says_how_long_ago() -> None:
    viewer = UserState(
        user_id="v", at=BASE_TS + 2 * DAY, recent=(RecentItem("p1", EventType.VIEW, BASE_TS),)
    )
    reason = why.ReasonFacts(CATALOG).reason("recency", viewer, 0, None, None, None, 0.123456)
    assert reason is not None
    assert reason.code == "recently_viewed"
    assert reason.facts == {"title": "Trail shoe", "days_ago": 2}
    assert reason.weight == 0.1235
