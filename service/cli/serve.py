"""``shopmode serve``: the HTTP API under uvicorn (the app factory, one or more workers)."""

from __future__ import annotations

import os
import shutil
import signal
from types import FrameType
from typing import Annotated

import typer

from service.cli import app
from service.cli.common import settings as current_settings
from service.runtime.embedded_redis import redis_url_for
from service.settings import get_settings

# One BLAS/OpenMP thread per worker: ~500-row predicts are faster single-threaded and
# multi-threaded ones give p99 spikes (docs/architecture.md, "Numbers"). Workers are fresh
# interpreters, so setting these before they start pins them before numpy loads; the app
# also pins the already-loaded libraries with threadpoolctl.
PINNED_THREADS = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}


def prepare_worker_environment(workers: int) -> None:
    """Pin threads, and with several workers give Prometheus a shared directory."""
    for name, value in PINNED_THREADS.items():
        os.environ.setdefault(name, value)
    if workers > 1:
        metrics_dir = current_settings().home / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # a requested stop is a clean one


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    log_level: Annotated[
        str, typer.Option(help="uvicorn log level (critical, error, warning, info, debug).")
    ] = "info",
) -> None:
    """Serve the HTTP API (docs at /docs). Configuration comes from SHOPMODE_* variables."""
    import uvicorn

    prepare_worker_environment(workers)
    config = current_settings()
    # Without REDIS_URL this process owns the embedded Redis for the workers' lifetime
    # (workers come and go; the store must not), and hands them its URL.
    # uvicorn re-raises the SIGTERM it caught once it has shut down; with the default
    # handler that would kill this process before the embedded Redis is saved and stopped.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with redis_url_for(config.redis_url, config.home) as url:
        os.environ["SHOPMODE_REDIS_URL"] = url
        get_settings.cache_clear()
        uvicorn.run(
            "service.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            proxy_headers=True,
            # A worker importing the ML stack on a busy machine can miss uvicorn's default
            # 5 s liveness ping and be killed in a restart loop.
            timeout_worker_healthcheck=60,
        )
