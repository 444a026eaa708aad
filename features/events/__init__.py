"""The event contract: types and field rules, the pydantic ``Event``, bulk-frame validation
and reading Parquet / CSV / JSON Lines files."""
