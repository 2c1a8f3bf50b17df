"""The data plane: columnar (Arrow) ingest, linking and synthetic data. No per-row Python loops
where Arrow has a vectorised kernel; files are streamed in batches."""
