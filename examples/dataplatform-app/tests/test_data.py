"""Unit tests of the parts that need no server: `python3 -m unittest discover -s tests` (from the
project directory, with the requirements installed)."""
import datetime as dt
import os
import unittest
from unittest import mock

from dataplatform import data, db
from dataplatform.settings import Settings, SettingsError, api_key


class GeneratorTest(unittest.TestCase):
    def test_same_series_and_date_give_the_same_value(self):
        s = data.SERIES[0]
        day = dt.date(2026, 1, 15)
        self.assertEqual(data.generated_value(s, day), data.generated_value(s, day))
        self.assertNotEqual(data.generated_value(s, day), data.generated_value(s, day + dt.timedelta(days=1)))

    def test_generate_covers_the_window_oldest_first(self):
        rows = data.generate(data.SERIES[1], dt.date(2026, 3, 1), 10)
        self.assertEqual([d for d, _ in rows][0], dt.date(2026, 2, 20))
        self.assertEqual([d for d, _ in rows][-1], dt.date(2026, 3, 1))
        self.assertEqual(len(rows), 10)

    def test_moving_average(self):
        self.assertEqual(data.moving_average([1, 2, 3, 4], 2), [1.0, 1.5, 2.5, 3.5])
        self.assertEqual(data.moving_average([], 7), [])


class SettingsTest(unittest.TestCase):
    def test_manifest_url_gets_the_psycopg_driver(self):
        self.assertEqual(db.sqlalchemy_url("postgresql://app:p%40ss@postgres:5432/app"), "postgresql+psycopg://app:p%40ss@postgres:5432/app")
        with self.assertRaisesRegex(SettingsError, "DATABASE_URL must be a postgresql:// URL"):
            db.sqlalchemy_url("mysql://x@y/z")

    def test_missing_and_malformed_variables_are_named(self):
        with mock.patch.dict(os.environ, {}, clear=True):
            with self.assertRaisesRegex(SettingsError, "DATABASE_URL is not set"):
                Settings.from_env()
        with mock.patch.dict(os.environ, {"DATABASE_URL": "postgresql://a@b/c", "RETENTION_DAYS": "soon"}, clear=True):
            with self.assertRaisesRegex(SettingsError, "RETENTION_DAYS='soon' is not an integer"):
                Settings.from_env()
        with mock.patch.dict(os.environ, {"DATABASE_URL": "postgresql://a@b/c"}, clear=True):
            with self.assertRaisesRegex(SettingsError, "REDIS_URL is not set"):
                Settings.from_env(need_redis=True)

    def test_placeholder_api_keys_count_as_absent(self):
        with mock.patch.dict(os.environ, {"FRED_API_KEY": "placeholder-abc123"}):
            self.assertIsNone(api_key("FRED_API_KEY"))
        with mock.patch.dict(os.environ, {"FRED_API_KEY": "0123456789abcdef"}):
            self.assertEqual(api_key("FRED_API_KEY"), "0123456789abcdef")


if __name__ == "__main__":
    unittest.main()
