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
    # One file per run, so that two runs at once (a developer's and an editor's) do not
    # share it.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(BASE_DIR / f"test-db-{os.getpid()}.sqlite3")  # noqa: F405
    }

# Tests render pages without running collectstatic: serve static files from the finders.
STORAGES = {  # noqa: F405
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Django's test client says "testserver"; schemathesis's WSGI client says "localhost".
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver", "localhost"]  # noqa: F405

# Queued tasks run at once in tests, in the test's own transaction.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
