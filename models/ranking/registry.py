"""The model registry: versioned model directories and the current-version key in Redis.

Layout, under ``SHOPMODE_HOME/models/``::

    <version>/model.skops      the fitted ShopRanker (skops: loading executes no code;
                               only the types in TRUSTED_TYPES are allowed). Its trees
                               are a LightGBM model text, compiled to native code in
                               memory after the file is verified (``models.ranking.compiled``)
    <version>/metadata.json    ModelMetadata: feature names and groups, the population
                               baseline (for reasons), data fingerprint, metrics,
                               code version, sha256 of model.skops

The current version lives in the store (``features.store.model_version``:
``shopmode:v1:model:current`` = ``<version>``, no TTL).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from features.store.model_version import CURRENT_KEY as CURRENT_KEY
from features.store.model_version import current_model, set_current_model
from features.store.runner import SyncClient, SyncRunner
from models.ranking.ranker import ShopRanker
from models.retrieval.time_scales import TimeScales
from shopmode.errors import ModelError, NotFound

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
TRUSTED_TYPES = ["models.ranking.ranker.ShopRanker"]
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")


class ModelMetadata(BaseModel):
    """What a model was trained on, how well it did, and how to check its file."""

    model_config = ConfigDict(extra="forbid")

    version: str
    created_at: float = Field(description="Epoch seconds.")
    feature_names: list[str]
    feature_groups: dict[str, list[str]] = Field(
        description="Reason group -> the features it covers (for score-drop reasons)."
    )
    baseline: list[float] = Field(description="Population baseline per feature.")
    data_fingerprint: str = Field(description="sha256 of the training event log summary.")
    data_dir: str | None = Field(default=None, description="Where events/catalog came from.")
    events_source: str | None = Field(
        default=None, description="The events file trained on, or 'store' for the store's log."
    )
    catalog_source: str | None = Field(
        default=None, description="The catalog file, or 'store' for the stored snapshot."
    )
    split_ts: float = Field(description="Train on events before, evaluate on events after.")
    test_days: int = Field(default=7, description="Held-out days after split_ts.")
    split_chosen: bool | None = Field(
        default=None,
        description="True when the held-out days were chosen from the log, False when "
        "--test-days gave them (None: a model from before the choice existed).",
    )
    metrics: dict[str, float] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    time_scales: dict[str, Any] | None = Field(
        default=None,
        description="Request-time scales derived from the log (TimeScales); read by replay "
        "and the service alike. None (older models): today's constants.",
    )
    code_version: str
    model_sha256: str


@dataclass(frozen=True)
class LoadedModel:
    """A verified model ready to score: the estimator and its metadata."""

    estimator: ShopRanker
    metadata: ModelMetadata

    @property
    def version(self) -> str:
        return self.metadata.version

    @property
    def scales(self) -> TimeScales:
        return TimeScales.from_metadata(self.metadata.time_scales)


def new_version(now: float | None = None) -> str:
    """A sortable, readable version id: UTC time to the millisecond."""
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
    return f"{stamp}{int(now * 1000) % 1000:03d}Z"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_version(version: str) -> str:
    if not _VERSION.match(version):
        raise NotFound(f"not a model version: {version!r}")
    return version


def save_model(
    models_dir: Path, estimator: ShopRanker, metadata: dict[str, Any], version: str | None = None
) -> ModelMetadata:
    """Write a new version directory; ``metadata`` holds every field but the hash/version.

    Files are written under a temporary name and renamed, so a half-written version is
    never visible to ``load_version``.
    """
    version = _check_version(version or new_version())
    final = models_dir / version
    if final.exists():
        raise ModelError(f"model version {version} already exists")
    staging = models_dir / f".{version}.partial"
    staging.mkdir(parents=True, exist_ok=False)
    import skops.io as sio  # ~2 s of imports (sklearn's too): only the commands that save

    sio.dump(estimator, staging / MODEL_FILE)
    meta = ModelMetadata(version=version, model_sha256=_sha256(staging / MODEL_FILE), **metadata)
    (staging / METADATA_FILE).write_text(meta.model_dump_json(indent=2))
    staging.rename(final)
    return meta


def read_metadata(models_dir: Path, version: str) -> ModelMetadata:
    path = models_dir / _check_version(version) / METADATA_FILE
    if not path.is_file():
        raise NotFound(f"no model version {version} under {models_dir}")
    try:
        return ModelMetadata.model_validate_json(path.read_text())
    except ValueError as exc:
        raise ModelError(f"model {version}: unreadable metadata.json ({exc})") from exc


def load_version(models_dir: Path, version: str, *, compile_trees: bool = True) -> LoadedModel:
    """Load one version, refusing a model file whose sha256 does not match its metadata.

    The trees are compiled for serving here (``compile_trees``), so the first request does not
    pay for it; ``set_current`` only verifies and leaves that to the servers."""
    meta = read_metadata(models_dir, version)
    path = models_dir / version / MODEL_FILE
    if not path.is_file():
        raise ModelError(f"model {version}: {MODEL_FILE} is missing")
    actual = _sha256(path)
    if actual != meta.model_sha256:
        raise ModelError(
            f"model {version}: {MODEL_FILE} sha256 {actual[:12]}… does not match "
            f"metadata {meta.model_sha256[:12]}…; refusing to load"
        )
    import skops.io as sio

    try:
        estimator = sio.load(path, trusted=TRUSTED_TYPES)
    except Exception as exc:  # skops raises many types for untrusted or corrupt files
        raise ModelError(f"model {version}: cannot load {MODEL_FILE} ({exc})") from exc
    if not isinstance(estimator, ShopRanker):
        raise ModelError(f"model {version}: {MODEL_FILE} does not hold a ShopRanker")
    if estimator.n_features_in_ != len(meta.feature_names):
        raise ModelError(f"model {version}: feature count differs from metadata")
    if compile_trees:
        try:
            estimator.compile()
        except Exception as exc:  # lleaves/LLVM raise many types for a text they reject
            raise ModelError(f"model {version}: cannot compile its trees ({exc})") from exc
    return LoadedModel(estimator=estimator, metadata=meta)


def list_versions(models_dir: Path) -> list[str]:
    """Complete versions, oldest first."""
    if not models_dir.is_dir():
        return []
    return sorted(
        p.name for p in models_dir.iterdir() if p.is_dir() and (p / METADATA_FILE).is_file()
    )


def _runner(store: SyncRunner | SyncClient) -> SyncRunner:
    return store if isinstance(store, SyncRunner) else SyncRunner(store)


def set_current(store: SyncRunner | SyncClient, models_dir: Path, version: str) -> None:
    """Promote ``version`` (it must exist and verify) to the one every service serves."""
    load_version(models_dir, version, compile_trees=False)
    _runner(store).run(set_current_model(version))


def current_version(store: SyncRunner | SyncClient) -> str | None:
    return _runner(store).run(current_model())


def load_current(store: SyncRunner | SyncClient, models_dir: Path) -> LoadedModel:
    """The model named by the store's current-version key; ModelError when none is set."""
    version = current_version(store)
    if version is None:
        raise ModelError("no current model: run `shopmode train` first")
    return load_version(models_dir, version)


def metadata_json(meta: ModelMetadata) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(meta.model_dump_json())
    return loaded
