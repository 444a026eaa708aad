"""Driving a compose project from a test: Docker Compose or podman-compose, the same calls.

``scripts/compose-test.sh`` (``make compose-test``) builds the images and describes the
project in the environment: ``SHOPMODE_COMPOSE`` (the compose command, project and file, as
shell words), ``SHOPMODE_COMPOSE_ENGINE`` (``docker`` or ``podman``),
``SHOPMODE_COMPOSE_PROJECT`` and the published ports ``SHOPMODE_API_PORT`` /
``SHOPMODE_LLM_PORT``. Containers are found by the labels both compose tools set.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from dataclasses import dataclass

import httpx

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


@dataclass(frozen=True)
class ComposeStack:
    compose: tuple[str, ...]
    engine: str
    project: str
    api_url: str
    llm_url: str

    @classmethod
    def from_environment(cls) -> ComposeStack | None:
        compose = os.environ.get("SHOPMODE_COMPOSE")
        if not compose:
            return None
        return cls(
            compose=tuple(shlex.split(compose)),
            engine=os.environ["SHOPMODE_COMPOSE_ENGINE"],
            project=os.environ["SHOPMODE_COMPOSE_PROJECT"],
            api_url=f"http://127.0.0.1:{os.environ['SHOPMODE_API_PORT']}",
            llm_url=f"http://127.0.0.1:{os.environ['SHOPMODE_LLM_PORT']}",
        )

    def run(self, *words: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(words, capture_output=True, text=True, timeout=timeout, check=False)

    def must(self, *words: str, timeout: float = 600) -> str:
        done = self.run(*words, timeout=timeout)
        assert done.returncode == 0, f"{' '.join(words)}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def up(self, service: str) -> None:
        """Start one service (compose starts what it depends on) from the built images."""
        self.must(*self.compose, "up", "-d", "--no-build", service, timeout=1800)

    def container(self, service: str) -> str:
        found = self.must(
            self.engine,
            *("ps", "-a", "-q"),
            *("--filter", f"label={PROJECT_LABEL}={self.project}"),
            *("--filter", f"label={SERVICE_LABEL}={service}"),
        ).split()
        assert found, f"no container for service {service}"
        return found[0]

    def healthy(self, service: str) -> bool:
        container = self.container(service)
        if self.engine == "podman":
            # Podman schedules health checks with systemd timers; without systemd they run
            # only when asked, which is also what `podman healthcheck run` reports.
            return self.run("podman", "healthcheck", "run", container, timeout=60).returncode == 0
        status = self.run(
            "docker", "inspect", "--format", "{{.State.Health.Status}}", container
        ).stdout
        return status.strip() == "healthy"

    def wait_healthy(self, service: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy(service):
            assert time.monotonic() < deadline, f"{service} not healthy:\n{self.logs(service)}"
            time.sleep(3)

    def wait_exit(self, service: str, timeout: float) -> int:
        code = self.must(self.engine, "wait", self.container(service), timeout=timeout)
        return int(code.split()[-1])

    def logs(self, service: str) -> str:
        done = self.run(self.engine, "logs", self.container(service))
        return done.stdout + done.stderr

    def exec(self, service: str, *command: str) -> str:
        return self.must(self.engine, "exec", self.container(service), *command)

    def restart(self, service: str) -> None:
        self.must(self.engine, "restart", "--time", "20", self.container(service))

    def main_process_uid(self, service: str) -> int:
        status = self.exec(service, "cat", "/proc/1/status")
        line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        return int(line.split()[1])

    def down(self) -> None:
        """Remove the project's containers (with their anonymous volumes), named volumes
        and networks. podman-compose 1.0.3's `down -v` leaves the anonymous ones, and the
        network."""
        label = f"label={PROJECT_LABEL}={self.project}"
        containers = self.run(self.engine, "ps", "-a", "-q", "--filter", label).stdout.split()
        if containers:
            self.run(self.engine, "rm", "-f", "-v", *containers, timeout=300)
        self.run(*self.compose, "down", "-v", timeout=300)
        for kind in ("volume", "network"):
            names = self.run(self.engine, kind, "ls", "-q", "--filter", label).stdout.split()
            if names:
                self.run(self.engine, kind, "rm", *names)


def wait_ready(url: str, timeout: float) -> None:
    """Until ``url`` answers 200 (the API's /readyz after a Redis restart, say)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} not ready within {timeout:.0f} s"
        time.sleep(2)
