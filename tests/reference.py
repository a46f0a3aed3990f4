"""LaunchDarkly's reference data, read from `../shared/upstream/` and never copied here.

`LAUNCHDARKLY_REFERENCE_DIR` points elsewhere when the checkout lives somewhere else.
A test that needs a missing file is skipped with a reason that says where it looked.
"""

import json
import os
from functools import cache
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent


def reference_dir() -> Path:
    configured = os.environ.get("LAUNCHDARKLY_REFERENCE_DIR")
    return Path(configured) if configured else REPOSITORY.parent / "shared" / "upstream"


@cache
def _read(name: str):
    return json.loads((reference_dir() / name).read_text())


def load_reference(name: str):
    path = reference_dir() / name
    if not path.exists():
        pytest.skip(
            f"LaunchDarkly reference file {path} is missing: set LAUNCHDARKLY_REFERENCE_DIR "
            "to the folder holding openapi-deployments.json and example-deployment.json"
        )
    return _read(name)
