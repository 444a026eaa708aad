"""``ProductFilter``: the one implementation of hard filters, held to the rules a shopper
expects, over the whole catalog (``mask``) and one product (``allows``) alike."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.catalog import Catalog
from models.intent import IntentVocabulary, ProductFilter, parse_intent
from shopmode.errors import InvalidInput

CATEGORIES = ["Trail Running", "Tents", "Headphones", "Rain Jackets"]
DEPARTMENTS = {"Trail Running": "Outdoor", "Tents": "Outdoor", "Headphones": "Electronics"}
BRANDS = ["Northpeak", "Ember", "Velo"]
COLOURS = ["navy", "red", "black"]
N = 36


def _catalog() -> Catalog:
    rows = []
    for i in range(N):
        category = CATEGORIES[i % 4]
        rows.append(
            {
                "product_id": f"p{i:02d}",
                "title": f"{category} item {i}",
                "category": category,
                "department": DEPARTMENTS.get(category, "Fashion"),
                "brand": BRANDS[i % 3],
                "price": 10.0 + 5.0 * i,
                "discount": 0.5 if i % 2 else 0.0,
                # Rain jackets carry no colour at all; the rest one each.
                "attributes": json.dumps(
                    {} if category == "Rain Jackets" else {"colour": COLOURS[i % 3]}
                ),
            }
        )
    return Catalog.from_frame(pd.DataFrame(rows))


CATALOG = _catalog()
VOCABULARY = IntentVocabulary.from_catalog(CATALOG)


def _ids(product_filter: ProductFilter) -> set[str]:
    return {str(p) for p in CATALOG.product_ids[product_filter.mask(CATALOG)]}


def _where(keep: Callable[[int], bool]) -> set[str]:
    return {f"p{i:02d}" for i in range(N) if keep(i)}


def test_names_compare_without_case() -> None:
    assert _ids(ProductFilter(category="trail running")) == _where(lambda i: i % 4 == 0)
    assert _ids(ProductFilter(brand="EMBER")) == _where(lambda i: i % 3 == 1)
    both = ProductFilter(category="Tents", brand="velo")
    assert _ids(both) == _where(lambda i: i % 4 == 1 and i % 3 == 2)


def test_prices_are_the_list_prices_shown() -> None:
    # p01 lists at 15.0 with half off: a "max 10" filter must not let it in at 7.50.
    assert _ids(ProductFilter(max_price=10.0)) == {"p00"}
    assert _ids(ProductFilter(min_price=20.0, max_price=30.0)) == {"p02", "p03", "p04"}


def test_excluded_products_never_pass() -> None:
    kept = ProductFilter(category="Tents").with_excluded({"p01", "nope"})
    assert "p01" not in _ids(kept)
    assert not kept.allows(CATALOG, "p01")
    assert kept.allows(CATALOG, "p05")
    assert not kept.allows(CATALOG, "not-in-the-catalog")


@pytest.mark.parametrize(
    ("product_filter", "field", "says"),
    [
        (ProductFilter(category="No Such Aisle"), "context.category", "No Such Aisle"),
        (ProductFilter(brand="Nobrand"), "context.brand", "Nobrand"),
        (ProductFilter(min_price=50.0, max_price=10.0), "context.min_price", "max_price"),
    ],
)
def test_an_impossible_filter_is_an_error_naming_the_field(
    product_filter: ProductFilter, field: str, says: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        product_filter.check(CATALOG, prefix="context.")
    assert caught.value.field == field
    assert says in caught.value.message


def test_a_known_name_in_any_case_passes_the_check() -> None:
    product_filter = ProductFilter(category="TENTS", brand="northpeak", min_price=5, max_price=5)
    assert product_filter.check(CATALOG) is product_filter


def test_words_filter_by_category_before_department_and_by_attribute() -> None:
    tents = parse_intent("tents", VOCABULARY)
    assert _ids(ProductFilter(intent=tents)) == _where(lambda i: i % 4 == 1)
    outdoor = parse_intent("outdoor", VOCABULARY)
    assert outdoor.departments == ["Outdoor"]
    assert outdoor.categories == []
    assert _ids(ProductFilter(intent=outdoor)) == _where(lambda i: i % 4 in (0, 1))
    navy = parse_intent("navy", VOCABULARY)
    # Rain jackets have no colour: a colour asked for is never met by them.
    assert _ids(ProductFilter(intent=navy)) == _where(lambda i: i % 3 == 0 and i % 4 != 3)


def test_words_and_explicit_filters_all_hold() -> None:
    cheap_outdoor = parse_intent("outdoor under $60", VOCABULARY)
    combined = ProductFilter(brand="Ember", min_price=20.0, intent=cheap_outdoor)
    expected = _where(lambda i: i % 4 in (0, 1) and i % 3 == 1 and 20.0 <= 10.0 + 5.0 * i <= 60.0)
    assert expected
    assert _ids(combined) == expected
    assert "your request" in combined.describe()
    assert "brand 'Ember'" in combined.describe()


def test_an_attribute_no_product_carries_lets_nothing_through() -> None:
    intent = parse_intent("navy", VOCABULARY).model_copy(update={"attributes": {"size": ["xl"]}})
    assert not ProductFilter(intent=intent).mask(CATALOG).any()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    category=st.none() | st.sampled_from([*CATEGORIES, "tents"]),
    brand=st.none() | st.sampled_from([*BRANDS, "velo"]),
    low=st.none() | st.floats(0, 200),
    high=st.none() | st.floats(0, 200),
    words=st.sampled_from(["", "tents", "outdoor under $90", "navy", "red headphones", "velo"]),
    excluded=st.frozensets(st.sampled_from([f"p{i:02d}" for i in range(N)]), max_size=5),
)
def test_one_product_at_a_time_agrees_with_the_whole_catalog(
    category: str | None,
    brand: str | None,
    low: float | None,
    high: float | None,
    words: str,
    excluded: frozenset[str],
) -> None:
    intent = parse_intent(words, VOCABULARY) if words else None
    product_filter = ProductFilter(category, brand, low, high, excluded, intent)
    mask = product_filter.mask(CATALOG)
    one_by_one = [product_filter.allows(CATALOG, str(p)) for p in CATALOG.product_ids]
    assert one_by_one == mask.tolist()
    asked = [*map(str, CATALOG.product_ids[::-1]), "not-in-the-catalog"]
    assert product_filter.allows_each(CATALOG, asked) == [*mask[::-1].tolist(), False]
    assert product_filter.allows_each(CATALOG, []) == []
    some = np.asarray([3, 17, 30], dtype=np.int64)
    assert product_filter.mask(CATALOG, some).tolist() == mask[some].tolist()
