"""docker-compose.yml and the Dockerfiles describe a deployment this project can really run:
every command exists (checked through the CLI's own --help), every variable is a Settings
field, ports and health checks agree, the demo key in the file is the one the service
stores, and the image holds every package. Running the stack for real is
tests/test_compose_stack.py (``make compose-test``)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from typer.testing import CliRunner

from service.api.routes.web import demo_key_specs
from service.cli import app as cli
from service.cli.demo import SIZES
from service.edge.auth import KeyRing
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
# Variables read by libraries, not by Settings.
NOT_SETTINGS = {"OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}


def settings_env_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice) for choice in alias.choices)
        else:
            names.add(f"SHOPMODE_{name.upper()}")
    return names


def with_defaults(text: str) -> str:
    """``${VAR:-default}`` as compose reads it when VAR is unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)


def command_words(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    if isinstance(command, str):
        words = shlex.split(command)
    elif command[:2] == ["sh", "-c"]:
        words = shlex.split(command[2])
    else:
        words = [str(word) for word in command]
    words = [with_defaults(word) for word in words]
    return words[1:] if words[:1] == ["exec"] else words


def shopmode_calls(words: list[str]) -> list[list[str]]:
    calls, current = [], None
    for word in words:
        if word == "shopmode":
            current = []
            calls.append(current)
        elif word in ("&&", ";", "||"):
            current = None
        elif current is not None:
            current.append(word)
    return calls


def test_every_shopmode_command_and_option_exists() -> None:
    runner = CliRunner()
    checked = 0
    for name, service in SERVICES.items():
        for call in shopmode_calls(command_words(service)):
            help_text = runner.invoke(cli, [call[0], "--help"], terminal_width=200)
            assert help_text.exit_code == 0, f"{name}: `shopmode {call[0]}` does not exist"
            for option in (w for w in call[1:] if w.startswith("--")):
                assert option in help_text.output, f"{name}: {call[0]} has no {option}"
            checked += 1
    assert checked >= 2  # seed: demo; api: serve


def test_seed_job_is_the_idempotent_demo_pipeline_without_serving() -> None:
    # `shopmode demo` skips each step already done, so a restarted seed job changes nothing.
    words = command_words(SERVICES["seed"])
    assert words[:3] == ["shopmode", "demo", "--no-serve"]
    assert words[words.index("--size") + 1] in SIZES


def test_environment_names_are_settings_fields() -> None:
    known = settings_env_names() | NOT_SETTINGS
    for name, service in SERVICES.items():
        for variable in service.get("environment", {}):
            assert variable in known, f"{name}: {variable} is not a Settings field"


def test_api_environment_builds_valid_settings_with_a_non_admin_demo_key() -> None:
    env = SERVICES["api"]["environment"]
    settings = Settings.model_validate(
        {"demo_key": env["SHOPMODE_DEMO_KEY"], "REDIS_URL": env["REDIS_URL"]}
    )
    documented = re.search(r'demo key is "([^"]+)"', (ROOT / "docker-compose.yml").read_text())
    assert documented is not None
    assert documented.group(1) == env["SHOPMODE_DEMO_KEY"]
    principal = KeyRing(demo_key_specs(settings)).identify(documented.group(1))
    assert principal is not None
    assert set(principal.scopes) == {"recommend", "events:write"}
    assert "SHOPMODE_API_KEYS" not in env, "compose must not ship an admin key in clear"


def test_api_waits_for_the_seed_job() -> None:
    depends = SERVICES["api"]["depends_on"]
    assert depends["seed"]["condition"] == "service_completed_successfully"
    assert depends["redis"]["condition"] == "service_healthy"


def test_redis_is_durable_and_health_checked() -> None:
    redis = SERVICES["redis"]
    words = command_words(redis)
    assert words[words.index("--appendonly") + 1] == "yes"
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])
    for dependent in ("api", "seed"):
        assert SERVICES[dependent]["depends_on"]["redis"]["condition"] == "service_healthy"
    redis_url = SERVICES["api"]["environment"]["REDIS_URL"]
    assert redis_url.startswith("redis://redis:6379")


def test_api_port_and_readiness_check_agree() -> None:
    api = SERVICES["api"]
    words = command_words(api)
    port = words[words.index("--port") + 1]
    assert [with_defaults(mapping) for mapping in api["ports"]] == [f"{port}:{port}"]
    probe = " ".join(api["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/readyz" in probe
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"EXPOSE {port}" in dockerfile


def test_api_and_seed_share_the_data_volume() -> None:
    home = SERVICES["api"]["environment"]["SHOPMODE_HOME"]
    for name in ("api", "seed"):
        mounts = {m.split(":")[1]: m.split(":")[0] for m in SERVICES[name]["volumes"]}
        assert mounts[home] == "shopmode-data"


@pytest.mark.llm
def test_llm_profile_runs_a_real_llama_cpp_server_command() -> None:
    llm = SERVICES["llm"]
    assert llm["profiles"] == ["llm"]
    words = command_words(llm)
    assert words[:3] == ["python", "-m", "llama_cpp.server"]
    help_text = subprocess.run(
        [sys.executable, "-m", "llama_cpp.server", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for option in (w for w in words[3:] if w.startswith("--")):
        assert option in help_text
    port = words[words.index("--port") + 1]
    base_url = SERVICES["api"]["environment"]["SHOPMODE_OPENAI_BASE_URL"]
    assert base_url == f"http://llm:{port}/v1"
    assert [with_defaults(mapping) for mapping in llm["ports"]] == [f"{port}:{port}"]


@pytest.mark.parametrize(
    ("dockerfile", "context"),
    [("Dockerfile", "."), ("docker/redis-debian.Dockerfile", "docker")],
)
def test_dockerfiles_copy_what_exists(dockerfile: str, context: str) -> None:
    for line in (ROOT / dockerfile).read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                if not source.endswith("*"):
                    assert (ROOT / context / source).exists(), f"{dockerfile} copies {source}"


def test_image_holds_every_package_and_runs_a_real_command() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, re.MULTILINE))
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        assert pattern.rstrip("*") in copied, f"the image lacks the package {pattern}"
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert cmd is not None
    words = json.loads(cmd.group(1))
    assert words[:2] == ["shopmode", "serve"]
    help_text = CliRunner().invoke(cli, ["serve", "--help"], terminal_width=200).output
    for option in (w for w in words[2:] if w.startswith("--")):
        assert option in help_text


def test_images_run_as_a_user_with_a_health_check() -> None:
    for dockerfile in ("Dockerfile", "docker/redis-debian.Dockerfile"):
        text = (ROOT / dockerfile).read_text()
        users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
        assert users, dockerfile
        assert users[-1] != "root", dockerfile
        assert re.search(r"^HEALTHCHECK ", text, re.MULTILINE), dockerfile


def test_health_checks_use_the_shell_form() -> None:
    # podman-compose 1.0.3 re-quotes the exec form ("CMD", ...) into a broken shell line.
    for name, service in SERVICES.items():
        if "healthcheck" in service:
            assert service["healthcheck"]["test"][0] == "CMD-SHELL", name


def _dask_help(command: str) -> str:
    dask = Path(sys.executable).parent / "dask"
    return subprocess.run(
        [str(dask), command, "--help"], capture_output=True, text=True, timeout=120, check=True
    ).stdout


def test_dask_profile_runs_a_real_scheduler_and_workers_that_share_the_data() -> None:
    scheduler, worker = SERVICES["dask-scheduler"], SERVICES["dask-worker"]
    assert scheduler["profiles"] == worker["profiles"] == ["dask"]
    assert scheduler["image"] == worker["image"] == SERVICES["api"]["image"]
    launch = command_words(scheduler)
    assert launch[:2] == ["dask", "scheduler"]
    port = launch[launch.index("--port") + 1]
    assert f"127.0.0.1', {port}" in " ".join(scheduler["healthcheck"]["test"])
    joins = command_words(worker)
    assert joins[:3] == ["dask", "worker", f"tcp://dask-scheduler:{port}"]
    assert worker["depends_on"]["dask-scheduler"]["condition"] == "service_healthy"
    for words, command in ((launch, "scheduler"), (joins, "worker")):
        help_text = _dask_help(command)
        for option in (w for w in words[2:] if w.startswith("--")):
            assert option in help_text, f"dask {command} has no {option}"
    # `shopmode train --dask` writes the shopper parts under SHOPMODE_HOME: the workers
    # must read the same volume at the same path.
    home = SERVICES["api"]["environment"]["SHOPMODE_HOME"]
    assert worker["environment"]["SHOPMODE_HOME"] == home
    mounts = {m.split(":")[1]: m.split(":")[0] for m in worker["volumes"]}
    assert mounts[home] == "shopmode-data"
    documented = (ROOT / "docker-compose.yml").read_text()
    assert f"--dask tcp://dask-scheduler:{port}" in documented
    help_text = CliRunner().invoke(cli, ["train", "--help"], terminal_width=200).output
    assert "--dask" in help_text
