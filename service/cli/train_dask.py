"""``shopmode train --dask ADDRESS``: the training set built on a Dask cluster.

A Parquet events file is read by the workers themselves (the driver reads only its
schema); any other log (CSV, JSON Lines, the store's own log) is read here and handed
to the cluster. The shopper parts are written under ``SHOPMODE_HOME/data/dask-parts``,
which every worker must be able to read (the compose ``dask`` profile mounts the same
volume), and removed afterwards.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import typer

from features.catalog import Catalog
from features.ingest import EVENT_REQUIRED_COLUMNS, read_events, read_interest_events
from features.store.event_log import read_event_log
from features.store.runner import SyncRunner
from models.ranking.distributed.cluster import dask_client, worker_count
from models.ranking.distributed.driver import DaskLog, train_on_dask
from models.ranking.training import Stage, TrainConfig, TrainedModel
from models.retrieval.cooccurrence import CooccurrenceLog
from models.retrieval.learned_timeline import LearnedTimeline
from service.cli.train import log_files, read_catalog
from service.settings import Settings
from shopmode.errors import InvalidInput

Files = tuple[Path | None, Path | None, Path | None, Path | None]
PARTS_PER_WORKER = 4


@dataclass(frozen=True)
class DaskBuilt:
    model: TrainedModel
    cooccurrence: CooccurrenceLog
    catalog: Catalog
    learned: LearnedTimeline | None


def parquet_events(path: Path) -> Path:
    """``path`` when it is a readable Parquet log with the required columns."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file", field="events")
    try:
        names = pq.read_schema(path).names
    except Exception as exc:  # pyarrow raises its own error types for corrupt files
        raise InvalidInput(f"{path}: cannot read: {exc}", field="events") from None
    missing = [c for c in EVENT_REQUIRED_COLUMNS if c not in names]
    if missing:
        raise InvalidInput(f"{path}: missing required column {', '.join(missing)}", field="events")
    return path.resolve()


def dask_log(store: SyncRunner, config: Settings, files: Files) -> DaskLog:
    """The log as ``read_log`` would read it, leaving a Parquet events file to the workers."""
    events, catalog, users = log_files(*files)
    products, catalog_source = read_catalog(store, catalog)
    declared = read_interest_events(users) if users is not None else None
    if events is not None and events.suffix.lower() == ".parquet":
        return DaskLog(
            catalog=products,
            events_path=parquet_events(events),
            declared=declared,
            data_dir=(files[0] or events.parent).resolve(),
            events_source=str(events.resolve()),
            catalog_source=catalog_source,
        )
    if events is not None:
        frame = read_events(events)
        source, data_dir = str(events.resolve()), (files[0] or events.parent).resolve()
    else:
        frame = read_event_log(store, config.data_dir)
        source, data_dir = "store", config.data_dir.resolve()
    return DaskLog(
        catalog=products,
        frame=frame,
        declared=declared,
        data_dir=data_dir,
        events_source=source,
        catalog_source=catalog_source,
    )


def train_with_dask(
    store: SyncRunner,
    config: Settings,
    address: str,
    parts: int,
    files: Files,
    train_config: TrainConfig,
    progress: Stage,
) -> DaskBuilt:
    """Train with the training set built by the cluster at ``address`` (or ``local``)."""
    log = dask_log(store, config, files)
    work_dir = config.data_dir / "dask-parts" / uuid.uuid4().hex
    try:
        with dask_client(address, config.dask_local_workers) as client:
            workers = worker_count(client)
            parts = parts or PARTS_PER_WORKER * max(workers, 1)
            typer.echo(f"dask: {address}, {workers} workers, log split into {parts} shopper parts")
            built = train_on_dask(client, log, train_config, work_dir, parts, progress)
    except OSError as exc:
        raise InvalidInput(str(exc), field="dask") from None
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    typer.echo(
        f"decisions: {built.train_decisions:,} training sessions, "
        f"{built.test_decisions:,} held out (last {train_config.test_days} days)"
    )
    typer.echo(built.scales.describe())
    warning = built.scales.store_warning()
    if warning:
        typer.echo(f"warning: {warning}", err=True)
    return DaskBuilt(
        model=built.model,
        cooccurrence=built.cooccurrence,
        catalog=log.catalog,
        learned=built.learned,
    )
