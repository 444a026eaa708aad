"""Building the training set on a Dask cluster (``shopmode train --dask ADDRESS``).

    event log ─► Parquet parts by shopper (``partitions``) ─► per part, on a worker:
        the offline engine, decision points, co-occurrence pairs, hourly product sums
        (``shopper_parts``) ─► on the driver, once: holdout, decision sample, product
        sums, co-occurrence log, time scales (``global_inputs``), scattered to every worker
        ─► per part: ``build_training_set`` on its shoppers' sampled decisions
        ─► gathered in decision order, fitted on the driver (``driver``)

Shopper features need only the shopper's own events; products and co-occurrence need
everyone's, so they are reduced once and broadcast. Each part calls the same
``build_training_set`` the single-process path calls, so the rows are the same.
"""
