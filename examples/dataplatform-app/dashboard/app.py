"""Streamlit dashboard: `streamlit run dashboard/app.py`.

Reads with read-only logins (DATABASE_URL: the app database, FEATURES_DATABASE_URL: the features
database) and asks the API (API_URL) for the worker's latest run.
"""
from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dataplatform import db  # noqa: E402
from dataplatform.settings import Settings, SettingsError  # noqa: E402

st.set_page_config(page_title="dataplatform", layout="wide")


@st.cache_resource
def engines() -> tuple[sa.Engine, sa.Engine | None, str | None]:
    s = Settings.from_env()
    feats = db.engine(s.features_database_url, "FEATURES_DATABASE_URL") if s.features_database_url else None
    return db.engine(s.database_url), feats, s.api_url


@st.cache_data(ttl=60)
def series() -> pd.DataFrame:
    app, _, _ = engines()
    with app.connect() as conn:
        return pd.read_sql(sa.select(db.series).order_by(db.series.c.id), conn)


@st.cache_data(ttl=60)
def history(series_id: str) -> pd.DataFrame:
    app, feats, _ = engines()
    if feats is not None:
        f = db.features
        with feats.connect() as conn:
            df = pd.read_sql(sa.select(f.c.date, f.c.value, f.c.ma_7, f.c.ma_30).where(f.c.series_id == series_id).order_by(f.c.date), conn)
        if not df.empty:
            return df.set_index("date")
    o = db.observations
    with app.connect() as conn:
        return pd.read_sql(sa.select(o.c.date, o.c.value).where(o.c.series_id == series_id).order_by(o.c.date), conn).set_index("date")


def latest_run(api_url: str | None) -> dict | None:
    if not api_url:
        return None
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/api/runs/latest", timeout=3) as resp:  # noqa: S310 (in-cluster URL)
            return json.load(resp)
    except Exception:  # noqa: BLE001 (the dashboard still shows the data)
        return None


st.title("dataplatform")
try:
    _, _, api_url = engines()
    catalogue = series()
except SettingsError as exc:
    st.error(str(exc))
    st.stop()
except sa.exc.SQLAlchemyError as exc:
    st.error(f"database unavailable: {exc.__class__.__name__}")
    st.stop()

run = latest_run(api_url)
st.caption(f"worker: last run {run['finished_at']} ({run['source']}, {run['rows_written']} rows)" if run else "worker: no run reported by the API yet")
if catalogue.empty:
    st.info("No data yet: the worker has not run. Run it now with the command in the CronJob's stackport.dev/run-now annotation.")
    st.stop()
choice = st.selectbox("series", catalogue["id"], format_func=lambda i: f"{i}: {catalogue.set_index('id').loc[i, 'title']}")
df = history(choice)
st.line_chart(df)
st.dataframe(df.tail(30))
