"""``shopmode features``: a shopper's features (and cross features for products) as JSON,
read from the online store or replayed offline from an event file, with the same keys."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from features.catalog import Catalog
from features.events.schema import parse_timestamp
from features.ingest import read_events, read_interest_events
from features.offline import OfflineFeatureEngine
from features.state import ProductFeatures, UserState
from features.store.apply import StoreConfig
from features.store.catalog import load_catalog
from features.store.online import OnlineFeatureStore
from features.vector import FEATURE_NAMES, feature_matrix
from service.cli import app
from service.cli.common import settings, store_runner
from shopmode.errors import InvalidInput

_OPTION = {
    "events": "--events",
    "users": "--users",
    "catalog": "--catalog",
    "at": "--at",
    "products": "--products",
}


def _fail(field: str | None, message: str) -> typer.Exit:
    name = _OPTION.get(field or "")
    typer.echo(f"error: {name}: {message}" if name else f"error: {message}", err=True)
    return typer.Exit(2)


def features_document(
    state: UserState, product_ids: list[str], products: ProductFeatures, catalog: Catalog
) -> dict[str, Any]:
    """The JSON both modes print: user state, product signals, cross features."""
    positions = catalog.index_of(product_ids)
    matrix = feature_matrix(state, positions, products, catalog, state.at)
    return {
        "user": state.to_json(),
        "products": products.to_json(product_ids, positions),
        "cross_features": {
            product_id: dict(zip(FEATURE_NAMES, (float(v) for v in row), strict=True))
            for product_id, row in zip(product_ids, matrix, strict=True)
        },
    }


@app.command("features")
def features(
    user_id: str = typer.Argument(..., help="The shopper's id."),
    products: str = typer.Option("", "--products", help="Comma-separated product ids."),
    at: str | None = typer.Option(
        None, "--at", help="As of this time: epoch seconds or RFC 3339 (default: now)."
    ),
    offline: bool = typer.Option(False, "--offline", help="Replay --events instead of Redis."),
    events: Path | None = typer.Option(None, "--events", help="Event file for --offline."),
    users: Path | None = typer.Option(
        None,
        "--users",
        help="Shoppers file for --offline: declared interests replayed as `shopmode ingest "
        "--users` stores them.",
    ),
    catalog: Path | None = typer.Option(
        None, "--catalog", help="Catalog file (default: the one stored in Redis)."
    ),
) -> None:
    """Print a shopper's features as JSON (online from Redis, or --offline from a file)."""
    try:
        moment = time.time() if at is None else parse_timestamp(at)
    except ValueError as exc:
        raise _fail("at", str(exc)) from None
    wanted = [p for p in (part.strip() for part in products.split(",")) if p]
    if offline and events is None:
        raise _fail("events", "--offline needs --events FILE")
    if users is not None and not offline:
        raise _fail("users", "--users goes with --offline (online, the store has them)")
    try:
        table = Catalog.read(catalog) if catalog is not None else None
        log = read_events(events) if offline and events is not None else None
        if log is not None and users is not None:
            log = pd.concat([read_interest_events(users), log], ignore_index=True)
    except InvalidInput as exc:
        raise _fail(exc.field, exc.message) from None
    if offline and log is not None and table is not None:
        document = _offline(user_id, wanted, moment, log, table)
    else:
        config = settings()
        with store_runner(config) as runner:
            known = table or runner.run(load_catalog())
            if offline and log is not None:
                document = _offline(user_id, wanted, moment, log, known)
            else:
                store = OnlineFeatureStore(runner, known, StoreConfig.from_settings(config))
                _check_products(wanted, known)
                state, found = store.features_for(user_id, wanted, moment)
                document = features_document(state, wanted, found, known)
    typer.echo(json.dumps(document, indent=2, sort_keys=True))


def _check_products(wanted: list[str], catalog: Catalog) -> None:
    unknown = [p for p in wanted if p not in catalog]
    if unknown:
        raise _fail("products", f"not in the catalog: {', '.join(unknown[:5])}")


def _offline(
    user_id: str, wanted: list[str], at: float, log: Any, catalog: Catalog
) -> dict[str, Any]:
    _check_products(wanted, catalog)
    engine = OfflineFeatureEngine(log, catalog)
    state = engine.user_state(user_id, at)
    everything = engine.product_features(at)
    positions = catalog.index_of(wanted)
    found = ProductFeatures(at=at, positions=positions, log_sums=everything.rows_for(positions))
    return features_document(state, wanted, found, catalog)
