"""Bulk ingest a batch at a time: progress from the first batch, rejections numbered by the
row of the file, every valid row applied (``features.ingest.ingest_frame``)."""

from __future__ import annotations

import time

import pandas as pd
import redis
from features_support import small_catalog

from features.ingest import ingest_frame
from features.store.online import OnlineFeatureStore


def test_batches_report_progress_and_rejections_by_file_row(redis_client: redis.Redis) -> None:
    catalog = small_catalog()
    product = str(catalog.product_ids[0])
    now = time.time() - 3_600
    rows = [
        {"user_id": f"u{i % 7}", "type": "view", "product_id": product, "ts": now + i}
        for i in range(250)
    ]
    rows[3]["ts"] = -5.0  # before 1970: the only rule about the past
    rows[180]["ts"] = time.time() + 86_400  # tomorrow
    rows[201]["ts"] = 820_454_400.0  # 1996: valid
    progress: list[int] = []
    report = ingest_frame(
        OnlineFeatureStore(redis_client, catalog),
        pd.DataFrame(rows),
        batch_size=100,
        on_progress=progress.append,
    )
    assert progress == [100, 100, 50]
    assert [(r.index, r.field) for r in report.rejections] == [(3, "ts"), (180, "ts")]
    assert "before 1970-01-01" in report.rejections[0].reason
    assert (report.accepted, report.duplicate, report.rejected) == (248, 0, 2)
    assert report.valid is not None
    assert len(report.valid) == 248
