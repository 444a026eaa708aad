"""The event log: session events get timestamps, ids and columns, and are sorted by time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.events.rules import EventType
from world.interests import InterestEvents
from world.sessions import KINDS, SessionEvents
from world.truth import Truth

# Seconds before each kind of event, measured from the previous event in its session:
# (fixed part, mean of the exponential part).
_GAPS: dict[str, tuple[float, float]] = {
    EventType.IMPRESSION: (0.01, 0.03),
    EventType.VIEW: (0.5, 1.0),
    EventType.CLICK: (1.0, 8.0),
    EventType.ADD_TO_CART: (3.0, 20.0),
    EventType.PURCHASE: (10.0, 60.0),
    EventType.SEARCH: (2.0, 8.0),
}
_SLOW_BROWSE = 20.0  # a view reached by browsing comes after some scrolling

_COLUMNS = pa.schema(
    [
        ("event_id", pa.string()),
        ("user_id", pa.string()),
        ("type", pa.string()),
        ("product_id", pa.string()),
        ("ts", pa.float64()),
        ("price", pa.float64()),
        ("quantity", pa.int64()),
        ("query", pa.string()),
        ("session_id", pa.string()),
        ("position", pa.int64()),
        ("brand", pa.string()),
        ("category", pa.string()),
        ("recommendation_id", pa.string()),
    ]
)


_PANDAS_DTYPE = {"string": "str", "double": "float64", "int64": "Int64"}


def _with_pandas_dtypes(schema: pa.Schema) -> pa.Schema:
    """Tell pandas to read nullable integer columns as ``Int64``, not as float64."""
    template = pd.DataFrame(
        {field.name: pd.Series(dtype=_PANDAS_DTYPE[str(field.type)]) for field in schema}
    )
    metadata = pa.Schema.from_pandas(template, preserve_index=False).metadata
    return schema.with_metadata({b"pandas": metadata[b"pandas"]})


SCHEMA = _with_pandas_dtypes(_COLUMNS)


def session_timestamps(
    events: SessionEvents, session_start: np.ndarray, rng: np.random.Generator
) -> tuple[SessionEvents, np.ndarray]:
    """Events in session order, and their times: the session start plus cumulative gaps."""
    order = np.lexsort((events.step, events.phase, events.session))
    ordered = SessionEvents(
        session=events.session[order],
        phase=events.phase[order],
        step=events.step[order],
        kind=events.kind[order],
        product=events.product[order],
        position=events.position[order],
        query=events.query[order],
        quantity=events.quantity[order],
        queries=events.queries,
    )
    fixed = np.array([_GAPS.get(k, (0.0, 0.0))[0] for k in KINDS])[ordered.kind]
    mean = np.array([_GAPS.get(k, (0.0, 0.0))[1] for k in KINDS])[ordered.kind]
    browsing = (ordered.phase == 5).astype(np.float64)
    gap = fixed + browsing * _SLOW_BROWSE + rng.exponential(1.0, ordered.kind.size) * mean
    gap = np.minimum(gap, 600.0)
    total = np.cumsum(gap)
    # A world may have no sessions at all (tiny worlds, short spans): no event, no time.
    starts = np.r_[True, ordered.session[1:] != ordered.session[:-1]] if gap.size else []
    first = np.flatnonzero(starts)
    before = np.repeat(total[first] - gap[first], np.diff(np.r_[first, ordered.session.size]))
    ts = session_start[ordered.session] + (total - before)
    return ordered, np.round(ts, 3)


def event_table(
    events: SessionEvents,
    ts: np.ndarray,
    session_user: np.ndarray,
    interests: InterestEvents,
    truth: Truth,
    category_names: np.ndarray,
) -> pa.Table:
    """All events as one table with the documented schema, sorted by time."""
    n_session, n_interest = events.kind.size, interests.user.size
    kind = np.concatenate(
        [
            events.kind,
            np.where(
                interests.is_follow,
                KINDS.index(EventType.FOLLOW_BRAND),
                KINDS.index(EventType.LIKE_CATEGORY),
            ),
        ]
    )
    user = np.concatenate([session_user[events.session], interests.user])
    product = np.concatenate([events.product, np.full(n_interest, -1)])
    all_ts = np.concatenate([ts, interests.ts])
    session = np.concatenate([events.session, np.full(n_interest, -1)])
    # Ties in time keep session order: impressions come before the clicks on them.
    order = np.lexsort((np.arange(all_ts.size), all_ts))

    kind, user, product, session = kind[order], user[order], product[order], session[order]
    position = np.concatenate([events.position, np.full(n_interest, -1)])[order]
    quantity = np.concatenate([events.quantity, np.zeros(n_interest, np.int64)])[order]
    query = np.concatenate([events.query, np.full(n_interest, -1)])[order]
    brand = np.concatenate([np.full(n_session, -1), interests.brand])[order]
    category = np.concatenate([np.full(n_session, -1), interests.category])[order]

    paid = np.round(truth.price * (1.0 - truth.discount), 2)
    priced = (product >= 0) & (kind != KINDS.index(EventType.IMPRESSION))
    n = kind.size
    return pa.table(
        {
            "event_id": _ids("e", np.arange(n), 9),
            "user_id": _take(truth.user_ids, user),
            "type": _take(np.array(KINDS), kind),
            "product_id": _take(truth.product_ids, product),
            "ts": pa.array(all_ts[order], pa.float64()),
            "price": pa.array(np.where(priced, paid[np.maximum(product, 0)], 0.0), mask=~priced),
            "quantity": pa.array(quantity, pa.int64(), mask=quantity <= 0),
            "query": _take(np.array(events.queries, dtype=object), query),
            "session_id": pc.if_else(
                pa.array(session >= 0), _ids("s", np.maximum(session, 0), 7), None
            ),
            "position": pa.array(position, pa.int64(), mask=position < 0),
            "brand": _take(truth.brand_names, brand),
            "category": _take(category_names, category),
            "recommendation_id": pa.nulls(n, pa.string()),
        },
        schema=SCHEMA,
    )


def _take(values: np.ndarray, index: np.ndarray) -> pa.Array:
    """``values[index]`` as strings, null where ``index`` is -1."""
    source = pa.array(values.astype(object) if values.size else [], pa.string())
    return source.take(pa.array(index, pa.int64(), mask=index < 0))


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pa.array(numbers, pa.int64()).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")
