"""The worker's tasks. Each is idempotent: running it twice on a day writes the same rows."""
from __future__ import annotations

import datetime as dt
import json
import logging
import time

import redis
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from dataplatform import data, db
from dataplatform.settings import Settings, api_key

log = logging.getLogger("dataplatform.worker")

TASKS = ("ingest", "retention", "features")
# Days of history the ingest task (re)writes on each run.
INGEST_DAYS = 90


def today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def ingest(settings: Settings, app: sa.Engine) -> tuple[int, str]:
    """Observations for every series: from FRED with FRED_API_KEY, else generated."""
    key = api_key("FRED_API_KEY")
    source = "fred" if key else "generated"
    end = today()
    days = min(INGEST_DAYS, settings.retention_days)
    written = 0
    with app.begin() as conn:
        for s in data.SERIES:
            rows = data.fetch_fred(s, key, end - dt.timedelta(days=days - 1)) if key else data.generate(s, end, days)
            stmt = insert(db.series).values(id=s.id, title=s.title, units=s.units, source=source)
            conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={"title": s.title, "units": s.units, "source": source}))
            if not rows:
                continue
            stmt = insert(db.observations).values([{"series_id": s.id, "date": d, "value": v} for d, v in rows])
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["series_id", "date"], set_={"value": stmt.excluded.value, "ingested_at": sa.func.now()}
            ))
            written += len(rows)
    log.info("ingest: %d observations of %d series from %s", written, len(data.SERIES), source)
    return written, source


def retention(settings: Settings, app: sa.Engine) -> int:
    cutoff = today() - dt.timedelta(days=settings.retention_days)
    with app.begin() as conn:
        deleted = conn.execute(sa.delete(db.observations).where(db.observations.c.date < cutoff)).rowcount
    log.info("retention: deleted %d observations older than %s", deleted, cutoff)
    return deleted


def features(settings: Settings, app: sa.Engine, cache: redis.Redis) -> int:
    """7- and 30-day moving averages into the features database; the latest values into Redis."""
    o = db.observations
    with app.connect() as conn:
        rows = conn.execute(sa.select(o.c.series_id, o.c.date, o.c.value).order_by(o.c.series_id, o.c.date)).all()
    by_series: dict[str, list] = {}
    for r in rows:
        by_series.setdefault(r.series_id, []).append(r)
    out = []
    for sid, obs in by_series.items():
        values = [r.value for r in obs]
        for r, m7, m30 in zip(obs, data.moving_average(values, 7), data.moving_average(values, 30)):
            out.append({"series_id": sid, "date": r.date, "value": r.value, "ma_7": m7, "ma_30": m30})
    feats = db.engine(settings.features_database_url, "FEATURES_DATABASE_URL")
    try:
        db.features_metadata.create_all(feats, checkfirst=True)
        with feats.begin() as conn:
            conn.execute(sa.delete(db.features).where(db.features.c.date < today() - dt.timedelta(days=settings.retention_days)))
            if out:
                stmt = insert(db.features).values(out)
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=["series_id", "date"],
                    set_={c: stmt.excluded[c] for c in ("value", "ma_7", "ma_30")} | {"computed_at": sa.func.now()},
                ))
    finally:
        feats.dispose()
    pipe = cache.pipeline()
    for sid, obs in by_series.items():
        latest = [f for f in out if f["series_id"] == sid][-1]
        pipe.hset(f"dataplatform:latest:{sid}", mapping={
            "date": latest["date"].isoformat(), "value": latest["value"], "ma_7": latest["ma_7"], "ma_30": latest["ma_30"],
        })
    pipe.execute()
    log.info("features: %d rows for %d series", len(out), len(by_series))
    return len(out)


def run_tasks(settings: Settings, tasks: list[str]) -> bool:
    """Runs the tasks in order; stops at the first failure. True when all succeeded."""
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.monotonic()
    app = db.engine(settings.database_url)
    cache = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    written, deleted, source = 0, 0, "-"
    try:
        for task in tasks:
            if task == "ingest":
                written, source = ingest(settings, app)
            elif task == "retention":
                deleted = retention(settings, app)
            elif task == "features":
                features(settings, app, cache)
        finished = dt.datetime.now(dt.timezone.utc)
        with app.begin() as conn:
            conn.execute(sa.insert(db.ingest_runs).values(
                started_at=started, finished_at=finished, tasks=",".join(tasks), source=source,
                rows_written=written, rows_deleted=deleted,
            ))
        cache.set("dataplatform:worker:last_run", json.dumps({
            "finished_at": finished.isoformat(), "tasks": tasks, "source": source,
            "rows_written": written, "rows_deleted": deleted, "seconds": round(time.monotonic() - t0, 3),
        }))
        log.info("run finished in %.1fs: %s", time.monotonic() - t0, ", ".join(tasks))
        return True
    except Exception:
        log.exception("run failed")
        return False
    finally:
        app.dispose()
        cache.close()
