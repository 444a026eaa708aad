"""``shopmode train``: learn a ranker from an event log, register it, make it current."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import typer

from features.catalog import Catalog
from features.ingest import read_events, read_interest_events
from features.store.catalog import load_catalog
from features.store.event_log import read_event_log
from features.store.neighbours import save_neighbours
from features.store.runner import SyncRunner
from models.ranking.ranker import OBJECTIVES
from models.ranking.registry import save_model, set_current
from models.ranking.training import (
    DEFAULT_OBJECTIVE,
    EventLog,
    TrainConfig,
    prepare,
    train_ranker,
)
from service.cli import app
from service.cli.common import progress_bar, settings, store_runner
from service.settings import Settings
from shopmode.errors import InvalidInput, NotFound

_OPTION = {
    "events": "--events",
    "catalog": "--catalog",
    "users": "--users",
    "data": "--data",
    "test_days": "--test-days",
    "max_decisions": "--max-decisions",
    "max_iter": "--max-iter",
    "objective": "--objective",
}


def fail(field: str | None, message: str) -> typer.Exit:
    name = _OPTION.get(field or "")
    typer.echo(f"error: {name}: {message}" if name else f"error: {message}", err=True)
    return typer.Exit(2)


def read_log(
    store: SyncRunner,
    config: Settings,
    data: Path | None,
    events: Path | None,
    catalog: Path | None,
    users: Path | None,
) -> EventLog:
    """The log to learn from: a data directory, given files, or the store's own log."""
    if data is not None:
        if not data.is_dir():
            raise InvalidInput(f"{data}: not a directory", field="data")
        events = events or data / "events.parquet"
        catalog = catalog or data / "catalog.parquet"
        if users is None and (data / "users.parquet").is_file():
            users = data / "users.parquet"
    if catalog is not None:
        products = Catalog.read(catalog)
        catalog_source = str(catalog.resolve())
    else:
        try:
            products = store.run(load_catalog())
        except NotFound as exc:
            raise InvalidInput(str(exc), field="catalog") from None
        catalog_source = "store"
    if events is not None:
        frame = read_events(events)
        events_source = str(events.resolve())
        data_dir = (data or events.parent).resolve()
    else:
        frame = read_event_log(store, config.data_dir)
        events_source = "store"
        data_dir = config.data_dir.resolve()
    if users is not None:
        declared = read_interest_events(users)
        frame = pd.concat([declared, frame], ignore_index=True) if len(declared) else frame
    return EventLog(
        events=frame,
        catalog=products,
        data_dir=data_dir,
        events_source=events_source,
        catalog_source=catalog_source,
    )


@app.command("train")
def train(
    data: Path | None = typer.Option(
        None, "--data", help="A data directory (events.parquet, catalog.parquet, users.parquet)."
    ),
    events: Path | None = typer.Option(
        None, "--events", help="Events file (Parquet, CSV, JSON Lines). Default: the store's log."
    ),
    catalog: Path | None = typer.Option(
        None, "--catalog", help="Catalog file. Default: the catalog stored by `shopmode ingest`."
    ),
    users: Path | None = typer.Option(
        None, "--users", help="Shoppers file; declared interests count as interest events."
    ),
    test_days: int | None = typer.Option(
        None,
        "--test-days",
        help="Last whole days held out for evaluation. Default: chosen from the log (its "
        "last 10% of time, widened until 50 sessions are held out).",
    ),
    max_decisions: int = typer.Option(
        8_000, "--max-decisions", help="Training sessions sampled (more: slower, a bit better)."
    ),
    max_iter: int = typer.Option(100, "--max-iter", help="Boosting rounds of the ranker."),
    seed: int = typer.Option(0, "--seed", help="Sampling and model seed."),
    objective: str = typer.Option(
        DEFAULT_OBJECTIVE,
        "--objective",
        help="pointwise (regression on graded gain) or lambdarank (LambdaMART per session).",
    ),
) -> None:
    """Train a ranker on all but the last days of the log and make it the current model.

    With no --test-days, the held-out days are chosen from the log and printed."""
    if objective not in OBJECTIVES:
        raise fail("objective", f"must be one of {', '.join(OBJECTIVES)}, not {objective!r}")
    if test_days is not None and test_days < 1:
        raise fail("test_days", "must be at least 1")
    if max_decisions < 100:
        raise fail("max_decisions", "must be at least 100")
    if not 1 <= max_iter <= 5000:
        raise fail("max_iter", "must be between 1 and 5000")
    config = settings()
    began = time.perf_counter()
    with store_runner(config) as store:
        try:
            log = read_log(store, config, data, events, catalog, users)
            typer.echo(f"log: {len(log.events):,} events, {len(log.catalog):,} products")
            prepared = prepare(log, test_days)
            typer.echo(prepared.split.describe())
            typer.echo(
                f"decisions: {len(prepared.train):,} training sessions, "
                f"{len(prepared.test):,} held out"
            )
            typer.echo(prepared.scales.describe())
            warning = prepared.scales.store_warning()
            if warning:
                typer.echo(f"warning: {warning}", err=True)
            with progress_bar() as bar:

                def stage(name: str, total: int) -> Callable[[int], None]:
                    task = bar.add_task(name, total=total)
                    return lambda n: bar.advance(task, n)

                trained = train_ranker(
                    prepared,
                    TrainConfig(
                        objective=objective,
                        test_days=test_days,
                        max_train_decisions=max_decisions,
                        max_iter=max_iter,
                        seed=seed,
                    ),
                    progress=stage,
                )
        except InvalidInput as exc:
            raise fail(exc.field, exc.message) from None
        meta = save_model(config.models_dir, trained.estimator, trained.metadata)
        # Serving reads neighbours of recent products from Redis: built from the whole log.
        neighbours = prepared.cooccurrence.as_of(np.inf)
        written = store.run(save_neighbours(neighbours.lists(log.catalog)))
        set_current(store, config.models_dir, meta.version)
    metrics = meta.metrics
    typer.echo(
        f"model {meta.version} ({objective}): {int(metrics['train_rows']):,} rows from "
        f"{int(metrics['train_decisions']):,} sessions, fit {metrics['fit_seconds']:.1f} s; "
        f"candidate recall {metrics['train_recall_all']:.3f} "
        f"(purchases {metrics['train_purchase_recall_all']:.3f}), "
        f"{metrics['train_mean_candidates']:.0f} candidates/session"
    )
    typer.echo(f"co-occurrence: neighbours stored for {written:,} products")
    typer.echo(
        f"saved {config.models_dir / meta.version} and made it current "
        f"in {time.perf_counter() - began:.1f} s; next: shopmode evaluate"
    )
