"""Where a model came from: its log's data fingerprint (sha256 over the event ids and
times, order-independent) and the code's version.

The same log gives the same print however it is split: ``fingerprint_of`` the
``event_hashes`` of its parts (as ``shopmode train --dask`` gathers them) equals
``fingerprint`` of the whole.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["code_version", "event_hashes", "fingerprint", "fingerprint_of"]


def fingerprint(events: pd.DataFrame) -> str:
    """sha256 over the event ids and times, order-independent: the same log, the same print."""
    return fingerprint_of([event_hashes(events)])


def event_hashes(events: pd.DataFrame) -> npt.NDArray[np.uint64]:
    """One hash per event; ``fingerprint_of`` the hashes of a log's parts is its print."""
    ids = pd.util.hash_pandas_object(events["event_id"].astype(str), index=False).to_numpy()
    ts = pd.util.hash_pandas_object(events["ts"].astype(np.float64), index=False).to_numpy()
    return np.asarray(ids ^ (ts * np.uint64(0x9E3779B97F4A7C15)), dtype=np.uint64)


def fingerprint_of(parts: list[npt.NDArray[np.uint64]]) -> str:
    combined = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)
    return hashlib.sha256(combined.tobytes()).hexdigest()


def code_version() -> str:
    """The git commit of the code that trained (with ``+dirty``), or the package version."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        return head or "unknown"
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"shopmode-{version('shopmode')}"
        except PackageNotFoundError:
            return "unknown"
