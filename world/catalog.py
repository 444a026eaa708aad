"""The product catalog: departments, categories, brands, prices, discounts and readable text.

Each product also carries two hidden numbers that never reach the catalog file: a latent
quality and a power-law popularity weight (how often the shop puts it in front of people).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from world.config import DAY, WorldConfig
from world.vocabulary import (
    BRAND_HEADS,
    BRAND_TAILS,
    CATEGORIES,
    COLOURS,
    DEPARTMENTS,
    FEATURES,
    MATERIALS,
    STYLES,
)

_DISCOUNTS = np.array([0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5])
_DISCOUNT_ODDS = np.array([0.25, 0.15, 0.25, 0.1, 0.12, 0.08, 0.05])
# Share of products that launch during the simulated period (new arrivals).
NEW_ARRIVALS = 0.1
# Zipf exponent of exposure popularity: top 10% of products draw most of the attention.
POPULARITY_EXPONENT = 1.05


@dataclass(frozen=True)
class Catalog:
    product_ids: np.ndarray  # str
    category: np.ndarray  # int index into CATEGORIES
    brand: np.ndarray  # int index into brand_names
    price: np.ndarray
    discount: np.ndarray
    launch_ts: np.ndarray
    colour: np.ndarray  # int index into COLOURS
    material: np.ndarray  # str
    material_code: np.ndarray  # int index into material_names
    material_names: np.ndarray
    quality: np.ndarray  # hidden
    popularity: np.ndarray  # hidden exposure weight, sums to 1
    brand_names: np.ndarray  # str
    brand_department: np.ndarray  # int index into DEPARTMENTS
    titles: list[str]
    descriptions: list[str]
    attributes: list[str]

    @property
    def size(self) -> int:
        return len(self.product_ids)

    @property
    def bulk(self) -> np.ndarray:
        """Per product: consumables, bought several at a time."""
        return np.asarray(CATEGORY_BULK[self.category])

    @property
    def department(self) -> np.ndarray:
        return np.asarray(CATEGORY_DEPARTMENT[self.category])

    def to_table(self) -> pa.Table:
        cats = np.array([c.name for c in CATEGORIES])
        return pa.table(
            {
                "product_id": pa.array(self.product_ids, pa.string()),
                "title": pa.array(self.titles, pa.string()),
                "description": pa.array(self.descriptions, pa.string()),
                "department": pa.array(np.array(DEPARTMENTS)[self.department], pa.string()),
                "category": pa.array(cats[self.category], pa.string()),
                "brand": pa.array(self.brand_names[self.brand], pa.string()),
                "price": pa.array(self.price, pa.float64()),
                "discount": pa.array(self.discount, pa.float64()),
                "attributes": pa.array(self.attributes, pa.string()),
                "launch_ts": pa.array(self.launch_ts, pa.float64()),
            }
        )


CATEGORY_DEPARTMENT = np.array([DEPARTMENTS.index(c.department) for c in CATEGORIES])
CATEGORY_BULK = np.array([c.bulk for c in CATEGORIES])
CATEGORY_REF_PRICE = np.array([np.sqrt(c.low * c.high) for c in CATEGORIES])


def build_catalog(config: WorldConfig, rng: np.random.Generator) -> Catalog:
    n, n_cats = config.products, len(CATEGORIES)
    brand_names, brand_dept, covers = _brands(config, rng)

    # Some categories are simply bigger than others; every category gets at least one product.
    cat_weight = rng.gamma(2.0, size=n_cats)
    category = np.concatenate(
        [
            rng.permutation(n_cats),
            rng.choice(n_cats, size=n - n_cats, p=cat_weight / cat_weight.sum()),
        ]
    )[:n]
    brand_size = rng.pareto(1.5, size=len(brand_names)) + 0.2
    brand = np.empty(n, dtype=np.int64)
    for c in range(n_cats):
        members = np.flatnonzero(category == c)
        makers = np.flatnonzero(covers[:, c])
        odds = brand_size[makers] / brand_size[makers].sum()
        brand[members] = rng.choice(makers, size=len(members), p=odds)

    lows = np.array([c.low for c in CATEGORIES])[category]
    highs = np.array([c.high for c in CATEGORIES])[category]
    brand_tier = rng.lognormal(0.0, 0.3, size=len(brand_names))
    raw = np.exp(rng.uniform(np.log(lows), np.log(highs))) * brand_tier[brand]
    price = np.maximum(np.round(np.clip(raw, lows * 0.8, highs * 1.2)) - 0.01, 1.99)
    on_sale = rng.random(n) < 0.22
    discount = np.where(on_sale, rng.choice(_DISCOUNTS, size=n, p=_DISCOUNT_ODDS), 0.0)

    new = rng.random(n) < NEW_ARRIVALS
    launch_ts = np.where(
        new,
        config.start_ts + rng.uniform(0.5, config.days - 1.0, size=n) * DAY,
        config.start_ts - rng.uniform(1.0, 720.0, size=n) * DAY,
    )
    launch_ts = np.round(launch_ts, 3)

    brand_quality = rng.normal(0.0, 0.5, size=len(brand_names))
    quality = brand_quality[brand] + rng.normal(0.0, 0.8, size=n)
    # Exposure popularity follows quality loosely and a power law strictly.
    order = np.argsort(-(0.7 * quality + rng.normal(0.0, 1.0, size=n)), kind="stable")
    popularity = np.empty(n)
    popularity[order] = (np.arange(1, n + 1, dtype=np.float64)) ** -POPULARITY_EXPONENT
    popularity /= popularity.sum()

    colour = rng.integers(0, len(COLOURS), size=n)
    material = np.empty(n, dtype=object)
    dept = CATEGORY_DEPARTMENT[category]
    for d, name in enumerate(DEPARTMENTS):
        members = np.flatnonzero(dept == d)
        material[members] = rng.choice(np.array(MATERIALS[name]), size=len(members))
    material = material.astype(str)
    material_names, material_code = np.unique(material, return_inverse=True)

    titles, descriptions, attributes = _texts(
        rng, category, brand_names[brand], colour, material, price
    )
    return Catalog(
        product_ids=np.array([f"p{i + 1:05d}" for i in range(n)]),
        category=category,
        brand=brand,
        price=price,
        discount=discount,
        launch_ts=launch_ts,
        colour=colour,
        material=material,
        material_code=material_code,
        material_names=material_names,
        quality=quality,
        popularity=popularity,
        brand_names=brand_names,
        brand_department=brand_dept,
        titles=titles,
        descriptions=descriptions,
        attributes=attributes,
    )


def _brands(
    config: WorldConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Brand names, each brand's department, and which categories each brand makes."""
    combos = np.array([h + t for h in BRAND_HEADS for t in BRAND_TAILS])
    n_brands = int(np.clip(config.products // 8, len(DEPARTMENTS) + 3, len(combos)))
    names = combos[rng.permutation(len(combos))[:n_brands]]
    sizes = np.bincount(CATEGORY_DEPARTMENT, minlength=len(DEPARTMENTS)).astype(np.float64)
    dept = np.concatenate(
        [
            np.arange(len(DEPARTMENTS)),
            rng.choice(len(DEPARTMENTS), size=n_brands - len(DEPARTMENTS), p=sizes / sizes.sum()),
        ]
    )
    covers = np.zeros((n_brands, len(CATEGORIES)), dtype=bool)
    for b in range(n_brands):
        own = np.flatnonzero(dept[b] == CATEGORY_DEPARTMENT)
        k = min(len(own), 1 + rng.poisson(1.0))
        covers[b, rng.choice(own, size=k, replace=False)] = True
    for c in np.flatnonzero(~covers.any(axis=0)):
        covers[rng.choice(np.flatnonzero(dept == CATEGORY_DEPARTMENT[c])), c] = True
    return names, dept, covers


def _texts(
    rng: np.random.Generator,
    category: np.ndarray,
    brands: np.ndarray,
    colour: np.ndarray,
    material: np.ndarray,
    price: np.ndarray,
) -> tuple[list[str], list[str], list[str]]:
    picks = rng.random((len(category), 4))
    titles: list[str] = []
    descriptions: list[str] = []
    attributes: list[str] = []
    for i, c in enumerate(category.tolist()):
        spec = CATEGORIES[c]
        noun = spec.nouns[int(picks[i, 0] * len(spec.nouns))]
        features = FEATURES[spec.department]
        feature = features[int(picks[i, 1] * len(features))]
        brand, col, mat = str(brands[i]), COLOURS[colour[i]], str(material[i])
        attrs: dict[str, object] = {"colour": col.lower(), "material": mat.lower()}
        if spec.department in ("Grocery", "Beauty"):
            titles.append(f"{brand} {mat} {feature} {noun}")
        else:
            titles.append(f"{brand} {feature} {noun} in {col}")
        sentences = [
            f"A {feature.lower()} {noun.lower()} from {brand}, made with {mat.lower()}.",
            f"Part of the {spec.name} range in {spec.department}.",
        ]
        if spec.sizes:
            first = int(picks[i, 2] * (len(spec.sizes) - 2))
            sizes = list(spec.sizes[first : first + 3 + int(picks[i, 3] * 3)])
            attrs["sizes"] = sizes
            sentences.append(f"Available in sizes {sizes[0]} to {sizes[-1]}.")
        elif spec.department in ("Fashion", "Home") and picks[i, 2] < 0.6:
            style = STYLES[int(picks[i, 3] * len(STYLES))]
            attrs["style"] = style.lower()
            sentences.append(f"A {style.lower()} look that goes with most things.")
        if price[i] < 30:
            sentences.append("An easy everyday pick.")
        attributes.append(json.dumps(attrs, sort_keys=True))
        descriptions.append(" ".join(sentences))
    return titles, descriptions, attributes
