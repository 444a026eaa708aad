"""The model the service serves, and how it follows ``shopmode:v1:model:current``.

``sync`` reads the current-version key and, when it names a version other than the one
loaded, loads it off the event loop. A version that fails to load (missing, tampered,
corrupt) is not retried until the key changes or an admin asks for a reload; the last
good model keeps serving and the error shows in ``/readyz`` and in metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from features.store.model_version import current_model
from features.store.runner import AsyncRunner
from models.ranking.features import RANKING_FEATURES
from models.ranking.registry import LoadedModel, load_version
from shopmode.errors import ModelError, NotFound

log = logging.getLogger("shopmode.service")


@dataclass(frozen=True)
class SyncResult:
    """What one ``sync`` did: ``changed`` when a new model now serves."""

    wanted: str | None
    serving: str | None
    changed: bool
    error: str | None
    attempted: bool = False


class ModelSlot:
    """Holds the loaded model (or none: heuristic ranking) and the last load error."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self.loaded: LoadedModel | None = None
        self.wanted: str | None = None
        self.failed_version: str | None = None
        self.last_error: str | None = None
        self.loaded_at: float | None = None
        self.failures = 0
        self._lock = asyncio.Lock()

    @property
    def version(self) -> str | None:
        return None if self.loaded is None else self.loaded.version

    async def sync(self, store: AsyncRunner, *, force: bool = False) -> SyncResult:
        """Load the version named in Redis if it is new (or ``force``); ``StoreUnavailable``
        propagates."""
        async with self._lock:
            wanted = await store.run(current_model())
            self.wanted = wanted
            if wanted is None or (wanted == self.version and not force):
                return SyncResult(wanted, self.version, False, self.last_error)
            if wanted == self.failed_version and not force:
                return SyncResult(wanted, self.version, False, self.last_error)
            try:
                model = await asyncio.to_thread(load_version, self.models_dir, wanted)
                if tuple(model.metadata.feature_names) != RANKING_FEATURES:
                    raise ModelError(
                        "trained on other features than this service computes; retrain with "
                        "`shopmode train`"
                    )
            except (ModelError, NotFound, OSError) as exc:
                self.failed_version = wanted
                self.last_error = f"model {wanted} failed to load: {exc}"
                self.failures += 1
                log.error("%s; still serving %s", self.last_error, self.version or "heuristics")
                return SyncResult(wanted, self.version, False, self.last_error, True)
            self.loaded = model
            self.loaded_at = time.time()
            self.failed_version = None
            self.last_error = None
            log.info("serving model %s", model.version)
            return SyncResult(wanted, model.version, True, None, True)
