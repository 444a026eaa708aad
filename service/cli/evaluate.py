"""``shopmode evaluate``: the current model against baselines on the held-out days."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd
import typer

from features.catalog import Catalog
from features.ingest import read_events, read_interest_events
from features.store.catalog import load_catalog
from features.store.event_log import read_event_log
from features.store.runner import SyncRunner
from features.store.sources import ingested_world
from models.evaluation.evaluate import evaluate
from models.evaluation.peers import DEFAULT_REFITS, MAX_REFITS, PeerSettings
from models.evaluation.report import COLUMNS, peer_rows, table_rows, write_report
from models.ranking.objectives import config_of, objective_rankers
from models.ranking.registry import LoadedModel, load_current
from models.ranking.training import EventLog, prepare
from service.cli import app
from service.cli.common import progress_bar, settings, store_runner
from service.cli.train import fail, read_log
from service.settings import Settings
from shopmode.errors import InvalidInput, ModelError, NotFound
from world.truth import Truth
from world.truth_files import load_truth

NO_ORACLE = (
    "no oracle: the log has no generated world's truth/ (evaluate with `--data DIR` on a "
    "world from `shopmode generate`, or train on one: `shopmode ingest --events "
    "DIR/events.parquet` remembers it)"
)


def log_of(store: SyncRunner, config: Settings, model: LoadedModel, data: Path | None) -> EventLog:
    """The log the model was trained on (from its metadata), or ``--data DIR``."""
    if data is not None:
        return read_log(store, config, data, None, None, None)
    meta = model.metadata
    if meta.catalog_source in (None, "store"):
        try:
            catalog = store.run(load_catalog())
        except NotFound as exc:
            raise InvalidInput(str(exc), field="catalog") from None
    else:
        catalog = Catalog.read(Path(meta.catalog_source))
    if meta.events_source in (None, "store"):
        events = read_event_log(store, config.data_dir)
    else:
        events = read_events(Path(meta.events_source))
    data_dir = Path(meta.data_dir) if meta.data_dir else None
    if data_dir is not None and (data_dir / "users.parquet").is_file() and meta.events_source:
        declared = read_interest_events(data_dir / "users.parquet")
        if len(declared):
            events = pd.concat([declared, events], ignore_index=True)
    return EventLog(events, catalog, data_dir, meta.events_source, meta.catalog_source)


def world_truth(store: SyncRunner, log: EventLog) -> Truth | None:
    """The hidden truth of the world the log came from: its data directory's, or, for the
    store's own log, that of the generated world ``shopmode ingest`` remembered."""
    places: list[Path | None] = [log.data_dir]
    if log.events_source in (None, "store"):
        places.append(store.run(ingested_world()))
    for place in places:
        if place is not None and (place / "truth").is_dir():
            return load_truth(place)
    return None


@app.command("evaluate")
def evaluate_command(
    data: Path | None = typer.Option(
        None, "--data", help="Evaluate on this data directory instead of the training log."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    max_decisions: int = typer.Option(
        5000, "--max-decisions", help="Held-out sessions sampled for evaluation."
    ),
    compare_objectives: bool = typer.Option(
        False,
        "--compare-objectives",
        help="Also fit a pointwise and a lambdarank ranker on the current model's training "
        "rows and report both (ranker_pointwise, ranker_lambdarank).",
    ),
    exclude_seen: bool = typer.Option(
        False,
        "--exclude-seen",
        help="Leave out of every list (ranker, baselines, peers) the products the shopper "
        "engaged with before the session: fair on logs where a product is engaged with once "
        "(ratings); wrong for shops whose shoppers come back to what they viewed.",
    ),
    with_peers: bool = typer.Option(
        True,
        "--peers/--no-peers",
        help="Also score well-known recommenders (recent and all-time popularity, implicit "
        "ALS, item-kNN, EASE) on the same sessions, tuned on a validation slice of the "
        "training part.",
    ),
    peer_refits: int = typer.Option(
        DEFAULT_REFITS,
        "--peer-refits",
        help="Times the peers' models are refitted along the holdout (and along the "
        "validation slice), as a nightly retrain would: 1 fits once at the split.",
    ),
) -> None:
    """Score the current model, popularity, trending, top-category, the peers and the oracle
    on the held-out days; write a Markdown report with plots under SHOPMODE_HOME/reports/."""
    if max_decisions < 50:
        raise fail("max_decisions", "must be at least 50")
    if not 1 <= peer_refits <= MAX_REFITS:
        typer.echo(f"error: --peer-refits: must be between 1 and {MAX_REFITS}", err=True)
        raise typer.Exit(2)
    config = settings()
    with store_runner(config) as store:
        try:
            model = load_current(store, config.models_dir)
            log = log_of(store, config, model, data)
            prepared = prepare(log, model.metadata.test_days)
        except (InvalidInput, ModelError) as exc:
            field = exc.field if isinstance(exc, InvalidInput) else None
            raise fail(field, exc.message if isinstance(exc, InvalidInput) else str(exc)) from None
        truth = world_truth(store, log)
    # The model's own split: the days it was trained without (recorded in its metadata).
    split = replace(prepared.split, chosen=bool(model.metadata.split_chosen))
    if not as_json:
        typer.echo(split.describe())
        if abs(split.start_ts - model.metadata.split_ts) > 1.0:
            typer.echo(
                "note: the log's end moved since training (held out from "
                f"{split.start_ts:.0f}, trained before {model.metadata.split_ts:.0f}): "
                "retrain for a clean holdout"
            )
    with progress_bar() as bar:

        def stage(name: str, total: int) -> Callable[[int], None]:
            task = bar.add_task(name, total=total)
            return lambda n: bar.advance(task, n)

        try:
            challengers = (
                objective_rankers(prepared, config_of(model.metadata), stage)
                if compare_objectives
                else {}
            )
        except InvalidInput as exc:
            raise fail(exc.field, exc.message) from None
        advance = stage("evaluating", min(len(prepared.test), max_decisions))
        peers_done = stage("peers (tuned on validation, scored on the holdout)", 1)
        result = evaluate(
            prepared,
            model,
            truth,
            max_decisions=max_decisions,
            advance=advance,
            challengers=challengers,
            exclude_seen=exclude_seen,
            peers=PeerSettings(refits=peer_refits, exclude_seen=exclude_seen)
            if with_peers
            else None,
        )
        peers_done(1)
    source = str(log.data_dir or log.events_source)
    out = write_report(result, config.reports_dir, model.version, source)
    if as_json:
        note = {} if truth is not None else {"oracle": NO_ORACLE}
        held_out = {
            "start_ts": split.start_ts,
            "days": split.days,
            "sessions": split.sessions,
            "chosen": split.chosen,
        }
        document = {
            "model": model.version,
            "report": str(out),
            "split": held_out,
            **result.to_json(),
            **note,
        }
        typer.echo(json.dumps(document))
        return
    width = max(len(name) for name in result.systems)
    objective = model.metadata.params.get("objective", "pointwise")
    seen = "seen products excluded" if exclude_seen else "seen products kept"
    typer.echo(
        f"model {model.version} ({objective}), {result.decisions:,} held-out sessions, {seen}"
    )
    typer.echo(" ".join([f"{'system':<{width}}", *(f"{c:>12}" for c in COLUMNS)]))
    for row in table_rows(result):
        typer.echo(" ".join([f"{row[0]:<{width}}", *(f"{v:>12}" for v in row[1:])]))
    if result.peers_skipped is not None:
        typer.echo(f"no peers: {result.peers_skipped}")
    if result.peers is not None:
        typer.echo("peers (same sessions; hyper-parameters chosen on the validation slice):")
        for name, ndcg, validation, params in peer_rows(result):
            typer.echo(f"  {name:<20} ndcg@10 {ndcg}  validation {validation}  {params}")
        best = result.best_peer()
        if best is not None:
            typer.echo(f"ranker vs best peer ({best}): {result.ranker_vs(best):.2f}x")
    gap = result.gap_closed()
    if gap is not None:
        typer.echo(
            f"gap_closed = (ranker − popularity)/(oracle − popularity) on NDCG@10: {gap:.3f}"
        )
        taste = result.gap_closed("oracle_utility")
        if taste is not None:
            typer.echo(f"gap_closed vs the taste oracle (utility only): {taste:.3f}")
    else:
        typer.echo(NO_ORACLE)
    typer.echo(f"report: {out / 'report.md'}")
