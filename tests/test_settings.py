"""Settings come from the environment, and refuse what would be unsafe or wrong."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent


def load_settings(**environment):
    """Imports dashboard.settings in a fresh interpreter with exactly `environment`."""
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "dashboard.settings"}
    env.update(environment)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            " print(settings.DEBUG, settings.TIME_ZONE, settings.ALLOWED_HOSTS)",
        ],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_debug_a_secret_key_is_required():
    result = load_settings()

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_has_a_development_key_and_local_hosts():
    result = load_settings(DEBUG="1")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True UTC ['127.0.0.1', 'localhost']"


def test_production_settings_take_hosts_and_timezone_from_the_environment():
    result = load_settings(
        SECRET_KEY="s" * 50, ALLOWED_HOSTS="deploy.example.internal", TIME_ZONE="Europe/Berlin"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False Europe/Berlin ['deploy.example.internal']"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TIME_ZONE", "Mars/Olympus", "is not an IANA timezone name"),
        ("DEBUG", "maybe", "DEBUG must be true or false"),
    ],
)
def test_bad_values_stop_the_start_with_a_message(variable, value, message):
    result = load_settings(SECRET_KEY="s" * 50, **{variable: value})

    assert result.returncode != 0
    assert message in result.stderr
