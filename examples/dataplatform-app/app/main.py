"""Endpoints: /health (readiness: the database answers), /metrics, and the data under /api."""
from __future__ import annotations

import json
import logging
import time
from contextlib import asynccontextmanager

import redis
import sqlalchemy as sa
from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from dataplatform import db
from dataplatform.settings import Settings, configure_logging

from . import metrics

settings = Settings.from_env()
configure_logging(settings.log_level)
log = logging.getLogger("dataplatform.api")

engine = db.engine(settings.database_url, pool_size=5, max_overflow=5, pool_timeout=5)
cache = redis.Redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1) if settings.redis_url else None
CACHE_SECONDS = 30


@asynccontextmanager
async def lifespan(_: FastAPI):
    yield
    engine.dispose()


app = FastAPI(title="dataplatform API", version="0.1.0", lifespan=lifespan, docs_url="/api/docs", openapi_url="/api/openapi.json")


@app.middleware("http")
async def observe(request: Request, call_next):
    start = time.perf_counter()
    status = 500
    try:
        response = await call_next(request)
        status = response.status_code
        return response
    finally:
        # The route template, not the raw path, so ids do not explode the label set.
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.REQUESTS.labels(request.method, route, str(status)).inc()
        metrics.DURATION.labels(request.method, route).observe(time.perf_counter() - start)


def _ping() -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


@app.get("/health")
@app.get("/api/health", include_in_schema=False)  # the same check through the edge's /api route
async def health(response: Response) -> dict:
    """Ready when PostgreSQL answers; a failing database takes the pod out of rotation."""
    try:
        await run_in_threadpool(_ping)
    except Exception as exc:  # noqa: BLE001 (any failure means not ready)
        log.warning("health: database unreachable: %s", exc.__class__.__name__)
        response.status_code = 503
        return {"status": "unavailable", "database": "unreachable"}
    return {"status": "ok", "database": "ok"}


@app.get("/metrics")
def prometheus() -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)


def _cached(key: str, compute):
    """Read-through cache in Redis; the API keeps answering (uncached) when Redis is down."""
    if cache is not None:
        try:
            hit = cache.get(key)
            if hit is not None:
                return json.loads(hit)
        except redis.RedisError as exc:
            log.warning("cache read failed: %s", exc)
    value = compute()
    if cache is not None:
        try:
            cache.setex(key, CACHE_SECONDS, json.dumps(value))
        except redis.RedisError as exc:
            log.warning("cache write failed: %s", exc)
    return value


def _series() -> list[dict]:
    o = db.observations
    q = (
        sa.select(
            db.series.c.id, db.series.c.title, db.series.c.units, db.series.c.source,
            sa.func.count(o.c.date).label("observations"), sa.func.max(o.c.date).label("latest"),
        )
        .select_from(db.series.outerjoin(o))
        .group_by(db.series.c.id)
        .order_by(db.series.c.id)
    )
    with engine.connect() as conn:
        return [
            {**row._asdict(), "latest": row.latest.isoformat() if row.latest else None}
            for row in conn.execute(q)
        ]


def _data_version() -> int:
    """The worker's latest run: a new run changes it, so cached answers never outlive the data."""
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.coalesce(sa.func.max(db.ingest_runs.c.id), 0))).scalar_one()


@app.get("/api/series")
def list_series() -> list[dict]:
    """Every series with its number of observations and latest date (from PostgreSQL, cached in Redis per worker run)."""
    return _cached(f"api:series:run-{_data_version()}", _series)


@app.get("/api/series/{series_id}/observations")
def list_observations(series_id: str, limit: int = Query(100, ge=1, le=5000)) -> dict:
    """The latest `limit` observations of one series, oldest first."""
    o = db.observations
    with engine.connect() as conn:
        if conn.execute(sa.select(db.series.c.id).where(db.series.c.id == series_id)).first() is None:
            raise HTTPException(404, f"no series {series_id!r}")
        rows = conn.execute(
            sa.select(o.c.date, o.c.value).where(o.c.series_id == series_id).order_by(o.c.date.desc()).limit(limit)
        ).all()
    return {"series": series_id, "observations": [{"date": r.date.isoformat(), "value": r.value} for r in reversed(rows)]}


@app.get("/api/runs/latest")
def latest_run() -> dict:
    """The worker's most recent run."""
    r = db.ingest_runs
    with engine.connect() as conn:
        row = conn.execute(sa.select(r).order_by(r.c.id.desc()).limit(1)).first()
    if row is None:
        raise HTTPException(404, "the worker has not run yet")
    d = row._asdict()
    for k in ("started_at", "finished_at"):
        d[k] = d[k].isoformat()
    return d
