"""``shopmode demo``: generate a world, ingest it, train a model and serve, in one command.

Each step is skipped when its result is already there (a generated world, an ingest of
that same world, a current model), so a rerun goes straight to serving; ``--fresh`` redoes
everything. The world is generated so that it ends today, which keeps its decayed
features and trends current. Steps call the same functions as ``shopmode generate``,
``ingest`` and ``train``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import pyarrow.parquet as pq
import typer
from pydantic import SecretStr

from features.store.catalog import has_catalog
from features.store.connect import flush
from features.store.model_version import current_model
from features.store.runner import SyncRunner
from models.ranking.registry import list_versions
from service.cli import app
from service.cli.common import settings as current_settings
from service.cli.common import store_runner
from service.edge.tokens import ShopperTokens, load_secret
from service.settings import Settings
from shopmode.errors import ShopmodeError

Size = Literal["tiny", "small", "default"]
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"users": 300, "products": 160, "days": 10, "test_days": 3, "max_decisions": 300},
    "small": {"users": 1_000, "products": 500, "days": 21, "test_days": 7, "max_decisions": 3_000},
    "default": {
        "users": 10_000,
        "products": 2_000,
        "days": 28,
        "test_days": 7,
        "max_decisions": 10_000,
    },
}
_WORLD_KEYS = ("users", "products", "days")
_INGESTED = "ingested.json"
DEMO_TOKEN_TTL_S = 86_400


@dataclass(frozen=True)
class DemoPlan:
    size: Size = "default"
    fresh: bool = False
    seed: int = 42


@dataclass
class DemoSummary:
    world_dir: Path
    user_ids: list[str] = field(default_factory=list)
    steps: dict[str, str] = field(default_factory=dict)
    model_version: str | None = None


def demo_dir(settings: Settings) -> Path:
    return settings.home / "demo"


def _world_fingerprint(world_dir: Path) -> str:
    return hashlib.sha256((world_dir / "world.json").read_bytes()).hexdigest()


def run_command(name: str, *args: str) -> None:
    """Run another ``shopmode`` command in this process, as its own options parse them."""
    command = typer.main.get_command(app)
    code = command.main(args=[name, *args], prog_name="shopmode", standalone_mode=False)
    if isinstance(code, int) and code != 0:
        raise ShopmodeError(f"`shopmode {name}` failed (exit code {code})")


def generate_step(settings: Settings, plan: DemoPlan, echo: Callable[[str], None]) -> str:
    from world.config import WorldConfig
    from world.generate import generate_world

    world_dir = settings.data_dir / "world"
    if (world_dir / "world.json").exists() and not plan.fresh:
        return "kept"
    size = SIZES[plan.size]
    start = (datetime.now(UTC) - timedelta(days=size["days"])).date()
    echo(f"generating a {plan.size} world ({size['users']:,} shoppers) ending today…")
    shape = {name: size[name] for name in _WORLD_KEYS}
    generate_world(WorldConfig(seed=plan.seed, start=start, **shape), world_dir)
    return "generated"


def ingest_step(
    settings: Settings, store: SyncRunner, plan: DemoPlan, echo: Callable[[str], None]
) -> str:
    world_dir = settings.data_dir / "world"
    marker = demo_dir(settings) / _INGESTED
    fingerprint = _world_fingerprint(world_dir)
    done = marker.exists() and json.loads(marker.read_text()).get("world") == fingerprint
    if done and not plan.fresh and store.run(has_catalog()):
        return "kept"
    if settings.redis_url is None:
        store.run(flush())  # the embedded demo Redis holds nothing but the demo
    echo("ingesting catalog, shoppers and events…")
    run_command(
        "ingest",
        "--catalog",
        str(world_dir / "catalog.parquet"),
        "--users",
        str(world_dir / "users.parquet"),
        "--events",
        str(world_dir / "events.parquet"),
    )
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"world": fingerprint}))
    return "ingested"


def train_step(
    settings: Settings, store: SyncRunner, plan: DemoPlan, echo: Callable[[str], None]
) -> str:
    current = store.run(current_model())
    if current is not None and not plan.fresh and current in list_versions(settings.models_dir):
        return "kept"
    echo("training the ranker…")
    size = SIZES[plan.size]
    run_command(
        "train",
        "--data",
        str(settings.data_dir / "world"),
        "--test-days",
        str(size["test_days"]),
        "--max-decisions",
        str(size["max_decisions"]),
        "--seed",
        str(plan.seed),
    )
    return "trained"


def run_pipeline(
    settings: Settings, plan: DemoPlan, echo: Callable[[str], None] = typer.echo
) -> DemoSummary:
    """Generate → ingest → train, skipping what is already done (unless ``plan.fresh``)."""
    world_dir = settings.data_dir / "world"
    summary = DemoSummary(world_dir=world_dir)
    with store_runner(settings) as store:
        summary.steps["generate"] = generate_step(settings, plan, echo)
        summary.steps["ingest"] = ingest_step(settings, store, plan, echo)
        summary.steps["train"] = train_step(settings, store, plan, echo)
        summary.model_version = store.run(current_model())
    users = pq.read_table(world_dir / "events.parquet", columns=["user_id"]).column("user_id")
    summary.user_ids = list(dict.fromkeys(str(u) for u in users.to_pylist()[-5000:]))[::-1]
    return summary


def demo_key(settings: Settings) -> str:
    """The demo's API key: ``SHOPMODE_DEMO_KEY`` when set (the compose stack's seed job prints
    the key its API serves), else one created once and kept (owner-only) under
    SHOPMODE_HOME/demo."""
    if settings.demo_key is not None:
        return settings.demo_key.get_secret_value()
    path = demo_dir(settings) / "api_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = "sm_demo_" + secrets.token_urlsafe(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def with_demo_key(settings: Settings, key: str) -> Settings:
    """Settings whose demo key (recommend + events:write, never admin) is ``key``, with the
    demo page signing visitors in as the shopper they pick."""
    return settings.model_copy(update={"demo_key": SecretStr(key), "demo_page": True})


def demo_token(settings: Settings, user_id: str) -> str:
    """A shopper token for ``user_id`` that the served API accepts (same secret)."""
    tokens = ShopperTokens(load_secret(settings.token_secret, settings.home))
    return tokens.mint(user_id, DEMO_TOKEN_TTL_S).token


@app.command("demo")
def demo(
    fresh: Annotated[bool, typer.Option("--fresh", help="Redo every step.")] = False,
    size: Annotated[
        Size, typer.Option(help="World size: tiny (seconds), small or default.")
    ] = "default",
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve when the data is ready.")
    ] = True,
) -> None:
    """Generate → ingest → train → serve, printing a shopper token and a curl call to paste."""
    settings = current_settings()
    summary = run_pipeline(settings, DemoPlan(size=size, fresh=fresh))
    for step, outcome in summary.steps.items():
        typer.echo(f"{step}: {outcome}")
    key = demo_key(settings)
    base = f"http://{host}:{port}"
    user = summary.user_ids[0] if summary.user_ids else "u000001"
    token = demo_token(settings, user)
    body = json.dumps({"user_id": user, "k": 5, "explain": "llm"})
    typer.echo(f"\nmodel: {summary.model_version or 'none (heuristic ranking)'}")
    typer.echo(f"shopper token for {user} (24 h; that shopper only): {token}")
    typer.echo(f"demo API key (recommend, events:write): {key}")
    typer.echo("try:")
    typer.echo(
        f"  curl -s {base}/v1/recommendations -H 'Authorization: Bearer {token}' "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )
    typer.echo(
        f"  curl -sN {base}<explanations_url from that answer> "
        f"-H 'Accept: text/event-stream' -H 'Authorization: Bearer {token}'"
    )
    typer.echo(f"API docs: {base}/docs   shop page: {base}/?shopper={user}")
    if not serve:
        return
    import uvicorn

    from service.api.app import create_app
    from service.cli.serve import prepare_worker_environment

    prepare_worker_environment(1)
    uvicorn.run(create_app(with_demo_key(settings, key)), host=host, port=port)
