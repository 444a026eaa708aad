"""``shopmode evaluate``: the current model against baselines on the held-out days."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import typer

from features.catalog import Catalog
from features.events.tables import read_table
from features.ingest import interest_events, read_events
from features.store.catalog import load_catalog
from features.store.event_log import read_event_log
from models.evaluation.evaluate import evaluate
from models.evaluation.report import COLUMNS, table_rows, write_report
from models.ranking.registry import LoadedModel, load_current
from models.ranking.training import EventLog, prepare
from service.cli import app
from service.cli.common import progress_bar, settings
from service.cli.features import feature_client
from service.cli.train import Client, fail, read_log
from service.settings import Settings
from shopmode.errors import InvalidInput, ModelError, NotFound
from world.truth_files import load_truth


def log_of(client: Client, config: Settings, model: LoadedModel, data: Path | None) -> EventLog:
    """The log the model was trained on (from its metadata), or ``--data DIR``."""
    if data is not None:
        return read_log(client, config, data, None, None, None)
    meta = model.metadata
    if meta.catalog_source in (None, "store"):
        try:
            catalog = load_catalog(client)
        except NotFound as exc:
            raise InvalidInput(str(exc), field="catalog") from None
    else:
        catalog = Catalog.read(Path(meta.catalog_source))
    if meta.events_source in (None, "store"):
        events = read_event_log(client, config.data_dir)
    else:
        events = read_events(Path(meta.events_source))
    data_dir = Path(meta.data_dir) if meta.data_dir else None
    if data_dir is not None and (data_dir / "users.parquet").is_file() and meta.events_source:
        users = data_dir / "users.parquet"
        declared = interest_events(read_table(users, field="users"), source=str(users))
        if len(declared):
            events = pd.concat([declared, events], ignore_index=True)
    return EventLog(events, catalog, data_dir, meta.events_source, meta.catalog_source)


@app.command("evaluate")
def evaluate_command(
    data: Path | None = typer.Option(
        None, "--data", help="Evaluate on this data directory instead of the training log."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    max_decisions: int = typer.Option(
        5000, "--max-decisions", help="Held-out sessions sampled for evaluation."
    ),
) -> None:
    """Score the current model, popularity, trending, top-category and the oracle on the
    held-out days; write a Markdown report with plots under SHOPMODE_HOME/reports/."""
    if max_decisions < 50:
        raise fail("max_decisions", "must be at least 50")
    config = settings()
    with feature_client(config) as client:
        try:
            model = load_current(client, config.models_dir)
            log = log_of(client, config, model, data)
            prepared = prepare(log, model.metadata.test_days)
        except (InvalidInput, ModelError) as exc:
            field = exc.field if isinstance(exc, InvalidInput) else None
            raise fail(field, exc.message if isinstance(exc, InvalidInput) else str(exc)) from None
    truth = None
    if log.data_dir is not None and (log.data_dir / "truth").is_dir():
        truth = load_truth(log.data_dir)
    with progress_bar() as bar:
        task = bar.add_task("evaluating", total=min(len(prepared.test), max_decisions))
        result = evaluate(
            prepared,
            model,
            truth,
            max_decisions=max_decisions,
            advance=lambda n: bar.advance(task, n),
        )
    source = str(log.data_dir or log.events_source)
    out = write_report(result, config.reports_dir, model.version, source)
    if as_json:
        typer.echo(json.dumps({"model": model.version, "report": str(out), **result.to_json()}))
        return
    width = max(len(name) for name in result.systems)
    typer.echo(f"model {model.version}, {result.decisions:,} held-out sessions")
    typer.echo(" ".join([f"{'system':<{width}}", *(f"{c:>12}" for c in COLUMNS)]))
    for row in table_rows(result):
        typer.echo(" ".join([f"{row[0]:<{width}}", *(f"{v:>12}" for v in row[1:])]))
    gap = result.gap_closed()
    if gap is not None:
        typer.echo(
            f"gap_closed = (ranker − popularity)/(oracle − popularity) on NDCG@10: {gap:.3f}"
        )
        taste = result.gap_closed("oracle_utility")
        if taste is not None:
            typer.echo(f"gap_closed vs the taste oracle (utility only): {taste:.3f}")
    else:
        typer.echo("no oracle: this log has no world truth")
    typer.echo(f"report: {out / 'report.md'}")
