"""``shopmode serve`` as users run it: a real uvicorn process, an embedded Redis it owns
(no REDIS_URL), two workers, and a clean stop that takes the embedded Redis with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from service.runtime.embedded_redis import free_port

pytestmark = pytest.mark.slow
SHOPMODE = str(Path(sys.executable).parent / "shopmode")


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_with_an_embedded_redis(tmp_path: Path, workers: int) -> None:
    home = tmp_path / "home"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SHOPMODE_REDIS_URL")}
    env |= {"SHOPMODE_HOME": str(home), "SHOPMODE_LLM_BACKEND": "template"}
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [SHOPMODE, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        ready = httpx.get(f"{base}/readyz", timeout=5)
        # Redis (embedded) answers; nothing is ingested or trained yet.
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"]["ok"] is True
        assert ready.json()["checks"]["catalog"]["ok"] is False
        assert (home / "redis" / "server.json").exists()
        for _ in range(6):
            httpx.get(f"{base}/healthz", timeout=5)
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        # Every worker's counts are merged (multiprocess mode).
        line = next(
            row
            for row in metrics.splitlines()
            if row.startswith("shopmode_http_requests_total")
            and 'route="/healthz"' in row
            and 'status="200"' in row
        )
        assert float(line.rsplit(" ", 1)[1]) >= 7
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()
    assert server.returncode == 0
    # The embedded Redis was saved and stopped with the server, not left running.
    assert not (home / "redis" / "server.json").exists()
    assert (home / "redis" / "dump.rdb").exists()
