"""A uvicorn server process for a benchmark, on loopback, pinned to one BLAS thread."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

PINNED = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@contextmanager
def uvicorn_server(
    factory: str, env: dict[str, str], port: int
) -> Iterator[subprocess.Popen[bytes]]:
    """One uvicorn worker running the app ``factory`` builds, until the block ends.

    The server counts as up once it answers any HTTP request (a trivial app may have no
    /healthz), and a server that exits or takes over three minutes to start is an error."""
    command = [sys.executable, "-m", "uvicorn", factory, "--factory", "--port", str(port)]
    command += ["--host", "127.0.0.1", "--workers", "1", "--log-level", "warning"]
    command += ["--no-access-log"]
    process = subprocess.Popen(command, env=os.environ | env | PINNED)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server {factory} did not start")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
