"""The project's settings, as the test suite runs them.

Tests run with DEBUG off, as production does, so the settings demand a SECRET_KEY;
this gives them a throwaway one. Everything else comes from dashboard/settings.py
and the environment (DATABASE_URL picks SQLite or PostgreSQL).
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")

from dashboard.settings import *  # noqa: E402, F403

# Rate limiting is tested on purpose (with the `settings` fixture), not by accident.
API_RATE_LIMIT = ""
# Hashing demo and test passwords with PBKDF2 costs seconds across the suite.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not Django's default in-memory database, so that tests with real threads
    # share one database with real locking, as production does.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}  # noqa: F405
