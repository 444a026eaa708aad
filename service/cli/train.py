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
from features.store.neighbours import save_neighbours, save_popular_window
from features.store.runner import SyncRunner
from models.ranking.parallel_build import MAX_JOBS, default_jobs
from models.ranking.ranker import OBJECTIVES
from models.ranking.registry import save_model, set_current
from models.ranking.training import (
    DEFAULT_OBJECTIVE,
    EventLog,
    TrainConfig,
    prepare,
    train_ranker,
)
from models.retrieval.candidates import SOURCES
from models.retrieval.cooccurrence import CooccurrenceLog
from models.retrieval.learned import fit_learned
from models.retrieval.learned_timeline import LearnedTimeline
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
    "dask": "--dask",
    "dask_parts": "--dask-parts",
    "jobs": "--jobs",
}


def fail(field: str | None, message: str) -> typer.Exit:
    name = _OPTION.get(field or "")
    typer.echo(f"error: {name}: {message}" if name else f"error: {message}", err=True)
    return typer.Exit(2)


def log_files(
    data: Path | None, events: Path | None, catalog: Path | None, users: Path | None
) -> tuple[Path | None, Path | None, Path | None]:
    """(events, catalog, users) files: the given ones, else a data directory's."""
    if data is not None:
        if not data.is_dir():
            raise InvalidInput(f"{data}: not a directory", field="data")
        events = events or data / "events.parquet"
        catalog = catalog or data / "catalog.parquet"
        if users is None and (data / "users.parquet").is_file():
            users = data / "users.parquet"
    return events, catalog, users


def read_catalog(store: SyncRunner, catalog: Path | None) -> tuple[Catalog, str]:
    """The catalog file, or the one stored by ``shopmode ingest``; and where it came from."""
    if catalog is not None:
        return Catalog.read(catalog), str(catalog.resolve())
    try:
        return store.run(load_catalog()), "store"
    except NotFound as exc:
        raise InvalidInput(str(exc), field="catalog") from None


def read_log(
    store: SyncRunner,
    config: Settings,
    data: Path | None,
    events: Path | None,
    catalog: Path | None,
    users: Path | None,
) -> EventLog:
    """The log to learn from: a data directory, given files, or the store's own log."""
    events, catalog, users = log_files(data, events, catalog, users)
    products, catalog_source = read_catalog(store, catalog)
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


def store_sources(
    store: SyncRunner,
    cooccurrence: CooccurrenceLog,
    products: Catalog,
    learned: LearnedTimeline | None,
) -> tuple[int, int]:
    """What serving reads from Redis, from the whole log: co-occurrence neighbours, and
    with learned sources item-kNN neighbours and the window popularity; lists written."""
    written = store.run(save_neighbours(cooccurrence.as_of(np.inf).lists(products)))
    if learned is None:
        return written, 0
    fitted = fit_learned(learned.log, np.inf, learned.window_days, learned.k)
    knn_written = store.run(save_neighbours(fitted.lists(products), family="knn"))
    store.run(save_popular_window(fitted.popular_ids(products)))
    return written, knn_written


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
    dask: str | None = typer.Option(
        None,
        "--dask",
        help="Build the training set on a Dask cluster: a scheduler address "
        "(tcp://scheduler:8786) or `local`. Default: SHOPMODE_DASK_ADDRESS, else one process.",
    ),
    dask_parts: int = typer.Option(
        0, "--dask-parts", help="Shopper parts the log is split into (0: 4 per worker)."
    ),
    jobs: int = typer.Option(
        0,
        "--jobs",
        help="Processes building the training set without Dask (same rows). Default: "
        f"SHOPMODE_TRAIN_JOBS, else the cores, at most {MAX_JOBS}; 1: this process only.",
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
    if not 0 <= jobs <= 64:
        raise fail("jobs", "must be between 0 (automatic) and 64")
    if not 0 <= dask_parts <= 10_000:
        raise fail("dask_parts", "must be between 0 (automatic) and 10000")
    if dask is not None and dask != "local" and "://" not in dask:
        raise fail(
            "dask", f"must be `local` or a scheduler address like tcp://host:8786, not {dask!r}"
        )
    config = settings()
    address = dask or config.dask_address
    train_config = TrainConfig(
        objective=objective,
        test_days=test_days,
        max_train_decisions=max_decisions,
        max_iter=max_iter,
        seed=seed,
        jobs=jobs or config.train_jobs or default_jobs(),
    )
    began = time.perf_counter()
    stored: list[tuple[int, int]] = []
    with store_runner(config) as store, progress_bar() as bar:

        def stage(name: str, total: int) -> Callable[[int], None]:
            task = bar.add_task(name, total=total)
            return lambda n: bar.advance(task, n)

        try:
            if address is not None:
                from service.cli.train_dask import train_with_dask

                built = train_with_dask(
                    store,
                    config,
                    address,
                    dask_parts,
                    (data, events, catalog, users),
                    train_config,
                    stage,
                )
                trained, cooccurrence, products = built.model, built.cooccurrence, built.catalog
                learned = built.learned
            else:
                log = read_log(store, config, data, events, catalog, users)
                typer.echo(f"log: {len(log.events):,} events, {len(log.catalog):,} products")
                prepared = prepare(log, test_days)
                typer.echo(prepared.split.describe())
                typer.echo(
                    f"decisions: {len(prepared.train):,} training sessions, "
                    f"{len(prepared.test):,} held out"
                )
                scales = prepared.scales
                typer.echo(scales.describe())
                warning = scales.store_warning()
                if warning:
                    typer.echo(f"warning: {warning}", err=True)
                cooccurrence, products = prepared.cooccurrence, log.catalog
                learned = prepared.replay.learned

                def alongside() -> None:  # while the ranker fits, on the other core
                    stored.append(store_sources(store, cooccurrence, products, learned))

                trained = train_ranker(prepared, train_config, stage, alongside)
        except InvalidInput as exc:
            raise fail(exc.field, exc.message) from None
        written, knn_written = (
            stored[0] if stored else store_sources(store, cooccurrence, products, learned)
        )
        meta = save_model(config.models_dir, trained.estimator, trained.metadata)
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
    if learned is not None:
        typer.echo(
            f"item-kNN (K {learned.k}): neighbours stored for {knn_written:,} products; "
            f"popularity window {learned.window_days:g} days (chosen on the validation slice)"
        )
        params = meta.params
        quota = params.get("candidate_quota")
        if isinstance(quota, dict):
            shown = ", ".join(f"{name} {n}" for name, n in quota.items() if n and name in SOURCES)
            typer.echo(
                f"candidate quotas tuned on {params['validation_decisions']} validation sessions: "
                f"{shown} (purchase recall {params['validation_purchase_recall']:.3f}, "
                f"{params['validation_mean_candidates']:.0f} candidates/session)"
            )
    typer.echo(
        f"saved {config.models_dir / meta.version} and made it current "
        f"in {time.perf_counter() - began:.1f} s; next: shopmode evaluate"
    )
