"""The event log as Parquet parts partitioned by shopper.

A part holds every event of the shoppers whose id hashes to it, so shopper features can
be replayed from one part alone. The log is split in chunks (Parquet row groups) by
worker tasks, each writing ``part=<p>/chunk-<c>.parquet``; a part is read back in chunk
order, which keeps each shopper's events in log order (duplicates resolve as in the
whole log: first one wins). The directory must be one every worker can read (a local
disk for a ``LocalCluster``, a shared volume for a real cluster).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

IntArray = npt.NDArray[np.int64]
ROWS_PER_CHUNK = 1_000_000


def shopper_part(user_ids: pd.Series, parts: int) -> IntArray:
    """The part of each shopper id: a stable hash (the same on every machine) mod ``parts``."""
    hashed = pd.util.hash_pandas_object(user_ids.astype(str), index=False).to_numpy()
    return (hashed % np.uint64(parts)).astype(np.int64)


def part_dir(root: Path, part: int) -> Path:
    return root / f"part={part:04d}"


def write_chunk(frame: pd.DataFrame, root: Path, chunk: int, parts: int) -> list[int]:
    """Split ``frame`` (chunk number ``chunk`` of the log) into the parts; rows per part."""
    owner = shopper_part(frame["user_id"], parts)
    rows = []
    for part in range(parts):
        piece = frame[owner == part]
        rows.append(len(piece))
        if len(piece):
            directory = part_dir(root, part)
            directory.mkdir(parents=True, exist_ok=True)
            table = pa.Table.from_pandas(piece, preserve_index=False)
            pq.write_table(table, directory / f"chunk-{chunk:06d}.parquet")
    return rows


def chunks_of(path: Path, rows_per_chunk: int = ROWS_PER_CHUNK) -> list[list[int]]:
    """Row groups of a Parquet file, grouped into chunks of about ``rows_per_chunk`` rows."""
    meta = pq.ParquetFile(path).metadata
    chunks: list[list[int]] = [[]]
    rows = 0
    for group in range(meta.num_row_groups):
        if rows >= rows_per_chunk:
            chunks.append([])
            rows = 0
        chunks[-1].append(group)
        rows += meta.row_group(group).num_rows
    return [c for c in chunks if c]


def split_file_chunk(
    path: Path, row_groups: list[int], root: Path, chunk: int, parts: int
) -> list[int]:
    """A worker task: read some row groups of the log and write them into the parts."""
    frame = pq.ParquetFile(path).read_row_groups(row_groups).to_pandas()
    return write_chunk(frame, root, chunk, parts)


def read_part(root: Path, part: int) -> pd.DataFrame:
    """Every event of one part, in log order (chunks in order, rows in order within)."""
    files = sorted(part_dir(root, part).glob("chunk-*.parquet"))
    if not files:
        return pd.DataFrame()
    frames = [pd.read_parquet(f) for f in files]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
