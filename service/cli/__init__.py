"""The ``shopmode`` command line.

Each subcommand lives in its own module in this package and registers itself on ``app``.
Domain errors end the command with a one-line message on stderr and exit code 2; typer
reports bad arguments (naming the argument) with exit code 2 as well.
"""

from __future__ import annotations

import sys

import typer

from shopmode.errors import ShopmodeError

app = typer.Typer(
    name="shopmode",
    help="Shopmode: personalized shopping recommendations with grounded explanations.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Importing a command module registers its command on ``app``.
from service.cli import (  # noqa: E402
    demo,  # noqa: F401
    evaluate,  # noqa: F401
    features,  # noqa: F401
    generate,  # noqa: F401
    ingest,  # noqa: F401
    serve,  # noqa: F401
    train,  # noqa: F401
)


def main() -> None:
    try:
        app(standalone_mode=True)
    except ShopmodeError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
