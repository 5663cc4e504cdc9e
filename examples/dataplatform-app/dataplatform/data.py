"""Where observations come from: FRED when a key is given, else a deterministic generator.

The generator gives the same value for the same series and date on every run and every machine,
so re-running the worker rewrites identical rows and tests can predict them.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import random
import urllib.parse
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class Series:
    id: str
    title: str
    units: str
    base: float
    trend: float  # per day
    noise: float


SERIES = (
    Series("UNRATE", "Unemployment rate", "percent", 4.0, 0.0005, 0.05),
    Series("CPIAUCSL", "Consumer price index, all urban consumers", "index 1982-1984=100", 310.0, 0.03, 0.2),
    Series("DGS10", "10-year treasury constant maturity rate", "percent", 4.2, -0.001, 0.04),
    Series("DEXUSEU", "US dollars to one euro", "USD per EUR", 1.08, 0.0001, 0.004),
)

FRED_URL = "https://api.stlouisfed.org/fred/series/observations"


def generated_value(s: Series, day: dt.date) -> float:
    """A reproducible value: trend plus a yearly cycle plus noise seeded by (series, date)."""
    seed = int.from_bytes(hashlib.sha256(f"{s.id}:{day.isoformat()}".encode()).digest()[:8], "big")
    n = day.toordinal() - dt.date(2020, 1, 1).toordinal()
    value = s.base + s.trend * n + s.base * 0.01 * math.sin(2 * math.pi * n / 365.25) + random.Random(seed).gauss(0, s.noise)
    return round(value, 4)


def generate(s: Series, end: dt.date, days: int) -> list[tuple[dt.date, float]]:
    return [(d, generated_value(s, d)) for d in (end - dt.timedelta(days=i) for i in range(days - 1, -1, -1))]


def fetch_fred(s: Series, api_key: str, start: dt.date, timeout: float = 30) -> list[tuple[dt.date, float]]:
    """Observations since `start` from the FRED API (missing values, written ".", are skipped)."""
    query = urllib.parse.urlencode(
        {"series_id": s.id, "api_key": api_key, "file_type": "json", "observation_start": start.isoformat()}
    )
    with urllib.request.urlopen(f"{FRED_URL}?{query}", timeout=timeout) as resp:  # noqa: S310 (fixed https URL)
        payload = json.load(resp)
    out = []
    for o in payload.get("observations", []):
        if o.get("value") not in (None, "", "."):
            out.append((dt.date.fromisoformat(o["date"]), float(o["value"])))
    return out


def moving_average(values: list[float], window: int) -> list[float]:
    """Trailing mean over up to `window` values (shorter at the start)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(round(total / min(i + 1, window), 6))
    return out
