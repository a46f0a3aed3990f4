"""Concurrent edits of one deployment: none is lost, stale ones fail with 409.

These need real transactions and real connections per thread, so they use
`django_db(transaction=True)`: plain test transactions would hide a missing lock.
On SQLite the test database is a file (see tests/settings.py) so threads share it.
"""

import pytest

from deployments.errors import OptimisticLockingError
from deployments.models import Change, Deployment
from deployments.services import deployment_update
from tests.threads import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
EDITS_PER_THREAD = 25


def test_unguarded_concurrent_edits_all_land(make_deployment):
    deployment = make_deployment()

    def edit_many(thread_index):
        for edit in range(EDITS_PER_THREAD):
            deployment_update(
                deployment_id=deployment.id,
                patch=[{"op": "add", "path": f"/metadata/t{thread_index}-{edit}", "value": edit}],
                actor=f"thread-{thread_index}",
            )

    _, failures = run_in_threads(edit_many, THREADS)

    assert failures == []
    metadata = Deployment.objects.get(id=deployment.id).metadata
    written = {key for key in metadata if key.startswith("t")}
    assert len(written) == THREADS * EDITS_PER_THREAD
    assert (
        Change.objects.filter(outcome=Change.Outcome.APPLIED).count() == THREADS * EDITS_PER_THREAD
    )


def test_guarded_concurrent_edits_from_the_same_view_let_exactly_one_win(make_deployment):
    deployment = make_deployment(status="started")

    def finish(thread_index):
        return deployment_update(
            deployment_id=deployment.id,
            patch=[
                {"op": "test", "path": "/status", "value": "started"},
                {"op": "replace", "path": "/status", "value": "finished"},
                {"op": "add", "path": "/metadata/finishedBy", "value": f"thread-{thread_index}"},
            ],
            actor=f"thread-{thread_index}",
        )

    outcomes, failures = run_in_threads(finish, THREADS)

    assert len(outcomes) == 1
    assert len(failures) == THREADS - 1
    assert all(isinstance(error, OptimisticLockingError) for error in failures)
    winner = outcomes[0]
    stored = Deployment.objects.get(id=deployment.id)
    assert stored.metadata["finishedBy"] == winner.actor_label
    assert Change.objects.filter(outcome=Change.Outcome.CONFLICT).count() == THREADS - 1
