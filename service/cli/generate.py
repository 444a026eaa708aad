"""``shopmode generate``: write a synthetic shopping world (catalog, shoppers, events, truth)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import typer

from service.cli import app
from shopmode.errors import InvalidInput
from world.config import WorldConfig
from world.generate import generate_world

_OPTION = {"out": "--out", "users": "--users", "products": "--products", "days": "--days"}


def _fail(field: str | None, message: str) -> typer.Exit:
    name = _OPTION.get(field or "", f"--{field}" if field else "")
    typer.echo(f"error: {name}: {message}" if name else f"error: {message}", err=True)
    return typer.Exit(2)


@app.command("generate")
def generate(
    out: Path = typer.Option(..., "--out", help="Directory to write the world into."),
    users: int = typer.Option(10_000, "--users", help="Number of shoppers."),
    products: int = typer.Option(2_000, "--products", help="Number of products."),
    days: int = typer.Option(28, "--days", help="Length of the simulated period in days."),
    seed: int = typer.Option(42, "--seed", help="Random seed: same arguments, same files."),
    start: str = typer.Option("2026-10-01", "--start", help="First day, YYYY-MM-DD (UTC)."),
) -> None:
    """Generate a synthetic shopping world: catalog, shoppers, event log and hidden truth."""
    try:
        first_day = date.fromisoformat(start)
    except ValueError:
        raise _fail("start", f"expected a date as YYYY-MM-DD, got {start!r}") from None
    began = time.perf_counter()
    try:
        config = WorldConfig(users=users, products=products, days=days, seed=seed, start=first_day)
        summary = generate_world(config, out)
    except InvalidInput as exc:
        raise _fail(exc.field, exc.message) from None
    except OSError as exc:
        raise _fail("out", f"could not write the world: {exc.strerror or exc}") from None
    seconds = time.perf_counter() - began
    counts = summary.events_by_type
    typer.echo(
        f"wrote {out}: {summary.users:,} shoppers, {summary.products:,} products, "
        f"{summary.sessions:,} sessions, {summary.events:,} events in {seconds:.1f} s"
    )
    typer.echo("  " + ", ".join(f"{kind} {count:,}" for kind, count in counts.items()))
