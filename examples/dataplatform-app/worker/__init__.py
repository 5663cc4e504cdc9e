"""The data worker: `python -m worker run --once --tasks ingest,retention,features`."""
