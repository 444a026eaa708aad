"""Build a whole world and write it atomically: catalog, shoppers, events, hidden truth.

Everything is written into a temporary directory next to the output and renamed into
place only when complete, so a crash never leaves a directory that looks like a world.
``world.json`` (config and counts) is the last file written.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from shopmode.errors import InvalidInput
from world.catalog import build_catalog
from world.config import WorldConfig
from world.event_log import event_table, session_timestamps
from world.interests import interest_events
from world.sessions import schedule_sessions, simulate_sessions
from world.shoppers import build_shoppers
from world.truth import Truth
from world.truth_files import save_truth
from world.vocabulary import CATEGORIES

MARKER = "world.json"


@dataclass(frozen=True)
class WorldSummary:
    out: Path
    config: WorldConfig
    products: int
    users: int
    sessions: int
    events: int
    events_by_type: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "config": self.config.to_json(),
            "products": self.products,
            "users": self.users,
            "sessions": self.sessions,
            "events": self.events,
            "events_by_type": self.events_by_type,
        }


def generate_world(config: WorldConfig, out: Path) -> WorldSummary:
    """Generate the world ``config`` describes into directory ``out`` (replacing an old world).

    ``out`` must not exist, be empty, or hold a previously generated world.
    """
    out = Path(out)
    _check_destination(out)
    # Independent streams per part: changing how events are drawn keeps the catalog.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(5)]
    catalog = build_catalog(config, streams[0])
    shoppers = build_shoppers(config, catalog, streams[1])
    truth = Truth.of(config, catalog, shoppers)
    schedule = schedule_sessions(config, truth, shoppers.signup_ts, streams[2])
    raw, plans = simulate_sessions(schedule, truth, catalog, streams[3])
    truth = replace(truth, sessions=plans)
    ordered, ts = session_timestamps(raw, schedule.start_ts, streams[4])
    interests = interest_events(config, truth, shoppers.signup_ts, streams[4])
    names = np.array([c.name for c in CATEGORIES])
    events = event_table(ordered, ts, schedule.user, interests, truth, names)

    by_type = Counter(events.column("type").to_pylist())
    summary = WorldSummary(
        out=out,
        config=config,
        products=catalog.size,
        users=shoppers.size,
        sessions=int(schedule.user.size),
        events=events.num_rows,
        events_by_type=dict(sorted(by_type.items())),
    )
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; the world is an ordinary directory
        pq.write_table(catalog.to_table(), staging / "catalog.parquet")
        pq.write_table(shoppers.to_table(), staging / "users.parquet")
        pq.write_table(events, staging / "events.parquet", row_group_size=256 * 1024)
        save_truth(truth, staging / "truth")
        (staging / MARKER).write_text(json.dumps(summary.to_json(), indent=2) + "\n")
        _swap_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return summary


def _check_destination(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} exists and is not a directory", "out")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise InvalidInput(f"{out} is not empty and does not hold a generated world", "out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create {out.parent}: {exc.strerror}", "out") from exc
    probe = out.parent / f".{out.name}.probe"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InvalidInput(f"cannot write in {out.parent}: {exc.strerror}", "out") from exc


def _swap_into_place(staging: Path, out: Path) -> None:
    if not out.exists():
        staging.rename(out)
        return
    old = out.parent / f".{out.name}.old-{staging.name.rsplit('-', 1)[-1]}"
    out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
