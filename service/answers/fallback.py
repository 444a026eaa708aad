"""Degraded answers: the most popular products inside the shopper's filters.

Used when the feature store is unreachable (nothing about the shopper can be read) and
as the ranking of last resort. It needs only the in-process snapshot, so it answers in
microseconds with no I/O, and its explanations are template text.
"""

from __future__ import annotations

from models.evidence import Evidence, Explanation
from models.explain.template import TemplateWriter
from models.intent import ProductFilter
from models.recommend import reasons as why
from service.runtime.snapshot import CatalogSnapshot, words
from service.schemas.recommendations import ExplanationPublic, RecommendedItemPublic

_writer = TemplateWriter()


def popular_items(
    snapshot: CatalogSnapshot,
    product_filter: ProductFilter,
    k: int,
    query: str | None,
    explain: bool,
) -> list[RecommendedItemPublic]:
    catalog = snapshot.catalog
    titles = catalog.frame["title"]
    wanted = words(query) if query else set()
    items = []
    for position in snapshot.popular_within(product_filter, k, query):
        i = int(position)
        category = catalog.categories[int(catalog.category_code[i])]
        brand_code = int(catalog.brand_code[i])
        title = str(titles.iloc[i])
        reasons = [why.popular(category, weight=1.0)]
        matched = sorted(wanted & words(title))
        if matched:
            # The raw query is never a fact (models.intent): only the words it matched.
            reasons.insert(0, why.query_match(None, " ".join(matched), weight=2.0))
        item = RecommendedItemPublic(
            product_id=str(catalog.product_ids[i]),
            title=title,
            category=category,
            brand=catalog.brands[brand_code] if brand_code >= 0 else None,
            price=float(catalog.price[i]),
            discount=float(catalog.discount[i]),
            score=float(snapshot.popularity[i]),
            sources=["popular"],
            reasons=reasons,
        )
        if explain:
            # The request as understood, never the raw text (see models.intent).
            intent = product_filter.intent
            asked = intent.evidence_query(title) if intent is not None else None
            item.explanation = template_explanation(item, asked)
        items.append(item)
    return items


def template_explanation(item: RecommendedItemPublic, query: str | None) -> ExplanationPublic:
    evidence = Evidence(
        product_id=item.product_id,
        title=item.title,
        brand=item.brand or "",
        category=item.category,
        price=item.price,
        discount=min(max(item.discount, 0.0), 1.0),
        reasons=item.reasons,
        query=query,
    )
    text = Explanation(text=_writer.write(evidence), source="template", grounded=True)
    return ExplanationPublic(text=text.text, source=text.source, grounded=text.grounded)
