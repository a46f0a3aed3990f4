"""This project's own LaunchDarkly-compatible API as a separate server process, with
its own seeded database: the upstream that sync tests talk to over real HTTP."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

REPOSITORY = Path(__file__).resolve().parent.parent
SEEDED_UNTIL = "2026-06-01T12:00:00+00:00"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def environment(database: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAUNCHDARKLY_", "DJANGO_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        DEBUG="1",
        API_RATE_LIMIT="",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def wait_until_serving(url: str, process: subprocess.Popen, *, seconds: float = 30) -> None:
    """Returns once `url` answers (any status); kills `process` if it never does."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"nothing answered at {url}") from None
            time.sleep(0.2)


@dataclass
class UpstreamInstance:
    url: str
    token: str
    database: Path
    process: subprocess.Popen

    def ids(self, project_key: str, environment_key: str) -> set[uuid.UUID]:
        """The deployment ids this upstream holds for a scope, read from its database."""
        return scope_ids(self.database, project_key, environment_key)


def scope_ids(database: Path, project_key: str, environment_key: str) -> set[uuid.UUID]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT id FROM deployments_deployment WHERE project_key = ? AND environment_key = ?",
            (project_key, environment_key),
        ).fetchall()
    return {uuid.UUID(row[0]) for row in rows}


def start_upstream(
    directory: Path, *, deployments: int, shape: str = "typical", **settings: str
) -> UpstreamInstance:
    """Migrates, seeds (`seed_demo --shape`) and serves a fresh instance; `settings`
    override its environment (e.g. DEBUG="0" for production-like serving in a benchmark)."""
    database = directory / "upstream.sqlite3"
    env = environment(database, **settings)
    manage("migrate", "--no-input", env=env)
    seed = ("--deployments", str(deployments), "--now", SEEDED_UNTIL, "--shape", shape)
    manage("seed_demo", *seed, env=env, timeout=600)
    token = manage(
        "create_api_token", "--name", "sync tests", "--service", "sync", "--role", "writer", env=env
    ).strip()
    port = free_port()
    # gunicorn, as in production: Django's development server leaves Nagle's algorithm
    # on, and its small answers waited 40 ms for a delayed ACK each.
    server = ["-m", "gunicorn", "dashboard.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    process = subprocess.Popen(
        [sys.executable, *server],
        cwd=REPOSITORY,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{url}/api/v2/openapi.json", process)
    return UpstreamInstance(url=url, token=token, database=database, process=process)
