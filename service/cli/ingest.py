"""``shopmode ingest``: load events, a catalog and shoppers' interests into the store."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import TaskID

from features.catalog import Catalog
from features.ingest import IngestReport, ingest_frame, interest_events, read_events, read_users
from features.store.apply import StoreConfig
from features.store.catalog import load_catalog, save_catalog
from features.store.online import OnlineFeatureStore
from features.store.runner import SyncRunner
from features.store.sources import forget_world, remember_world
from models.recommend.regions import ingest_regions
from service.cli import app
from service.cli.common import progress_bar, settings, store_runner
from shopmode.errors import InvalidInput, NotFound

_OPTION = {"events": "--events", "catalog": "--catalog", "users": "--users"}


def _fail(field: str | None, message: str) -> typer.Exit:
    name = _OPTION.get(field or "")
    typer.echo(f"error: {name}: {message}" if name else f"error: {message}", err=True)
    return typer.Exit(2)


def _print_report(what: str, report: IngestReport, seconds: float) -> None:
    total = report.accepted + report.duplicate + report.rejected
    rate = total / seconds if seconds > 0 else float("inf")
    typer.echo(
        f"{what}: accepted {report.accepted:,}, duplicate {report.duplicate:,}, "
        f"rejected {report.rejected:,} ({rate:,.0f} rows/s)"
    )
    for rejection in report.rejections[:5]:
        typer.echo(f"  rejected {rejection}")
    if report.rejected > len(report.rejections[:5]):
        typer.echo(f"  ... and {report.rejected - len(report.rejections[:5]):,} more")


@app.command("ingest")
def ingest(
    events: Path | None = typer.Option(
        None, "--events", help="Events file: Parquet, CSV or JSON Lines (see docs/import.md)."
    ),
    catalog: Path | None = typer.Option(
        None, "--catalog", help="Catalog file; stored in Redis and used to resolve products."
    ),
    users: Path | None = typer.Option(
        None, "--users", help="Shoppers file; declared interests become interest events."
    ),
) -> None:
    """Load a catalog, events and shoppers' declared interests into the feature store."""
    if events is None and catalog is None and users is None:
        raise _fail("events", "give at least one of --events, --catalog, --users")
    config = settings()
    try:
        # Read and check every file before touching the store: nothing half-applied.
        product_table = Catalog.read(catalog) if catalog is not None else None
        event_table = read_events(events) if events is not None else None
        user_table = read_users(users) if users is not None else None
        interests = (
            interest_events(user_table, source=str(users)) if user_table is not None else None
        )
    except InvalidInput as exc:
        raise _fail(exc.field, exc.message) from None
    with store_runner(config) as runner:
        if product_table is not None:
            runner.run(save_catalog(product_table))
            typer.echo(f"catalog: stored {len(product_table):,} products")
        try:
            known = product_table or runner.run(load_catalog())
        except NotFound:
            raise _fail("catalog", "no catalog stored yet: pass --catalog FILE") from None
        store_config = StoreConfig.from_settings(config, log_live_events=False)
        store = OnlineFeatureStore(runner, known, store_config)
        valid_events = None
        for what, frame in (("users", interests), ("events", event_table)):
            if frame is None:
                continue
            began = time.perf_counter()
            with progress_bar() as bar:
                task = bar.add_task(f"ingest {what}", total=len(frame))

                def advance(rows: int, task: TaskID = task) -> None:
                    bar.advance(task, rows)

                report = ingest_frame(store, frame, data_dir=config.data_dir, on_progress=advance)
            _print_report(what, report, time.perf_counter() - began)
            if what == "events":
                valid_events = report.valid
        if user_table is not None:
            # Trending from the validated events: a file's cells may be text or out of range.
            shoppers, regions = ingest_regions(runner, user_table, valid_events)
            typer.echo(f"regions: {shoppers:,} shoppers, trending sets for {regions} regions")
        if events is not None:
            _note_world(runner, events)


def _note_world(runner: SyncRunner, events: Path) -> None:
    """Events from a generated world's directory: remember it, so `shopmode evaluate` finds
    the world's truth/ for its oracle. Events from elsewhere: the store's log is no longer
    one world's alone, so forget it."""
    world = events.resolve().parent
    if (world / "truth").is_dir():
        runner.run(remember_world(world))
        typer.echo(f"world: {world} (its truth/ gives `shopmode evaluate` an oracle)")
    else:
        runner.run(forget_world())
