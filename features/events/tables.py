"""Reading tabular files a shop hands us: Parquet, CSV or JSON Lines, chosen by suffix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopmode.errors import InvalidInput

SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def read_table(
    path: Path, *, field: str = "file", string_columns: tuple[str, ...] = ()
) -> pd.DataFrame:
    """The file as a DataFrame, or ``InvalidInput`` naming the file and what is wrong."""
    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(SUFFIXES))
        raise InvalidInput(f"{path}: unknown file type (expected one of {known})", field=field)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file", field=field)
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        if kind == "csv":
            # Ids stay text even when they look like numbers ("00123").
            dtypes = dict.fromkeys(string_columns, "object")
            return pd.read_csv(path, dtype=dtypes, keep_default_na=True, low_memory=False)
        return pd.read_json(path, lines=True, dtype=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read: {exc}", field=field) from None
    except Exception as exc:  # pyarrow raises its own error types for corrupt files
        raise InvalidInput(f"{path}: cannot read: {exc}", field=field) from None


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...], *, source: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InvalidInput(
            f"{source}: missing required column {', '.join(missing)}", field=missing[0]
        )
