"""Latency and throughput of local edits through `services.deployment_update`.

Each patch is timed whole: row lock, apply, re-validate, save, and the change-log
write. Prints figures, asserts nothing.

    .venv/bin/python bench/patch.py --deployments 100000 --patches 2000
    pg_virtualenv sh -c 'DATABASE_URL=postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/postgres \\
        .venv/bin/python bench/patch.py --deployments 100000 --patches 2000'
"""

from __future__ import annotations

import argparse
import random
import time

from harness import describe, machine, peak_rss_mb, setup_django, throwaway_database


def patches_for(document: dict, rng: random.Random) -> list[dict]:
    """A realistic mix: archive toggles, guarded status changes, metadata notes."""
    choice = rng.randrange(3)
    if choice == 0:
        return [{"op": "replace", "path": "/archived", "value": not document["archived"]}]
    if choice == 1:
        status = "failed" if document["status"] != "failed" else "finished"
        return [
            {"op": "test", "path": "/status", "value": document["status"]},
            {"op": "replace", "path": "/status", "value": status},
        ]
    return [{"op": "add", "path": "/metadata/benchNote", "value": f"note {rng.random():.6f}"}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deployments", type=int, default=10_000)
    parser.add_argument("--patches", type=int, default=1_000)
    options = parser.parse_args()

    setup_django()
    from django.core.management import call_command

    from deployments.models import Change, Deployment
    from deployments.representation import deployment_rep
    from deployments.services import deployment_update

    with throwaway_database():
        call_command("seed_demo", deployments=options.deployments, verbosity=0)
        rng = random.Random(7)
        ids = list(Deployment.objects.values_list("id", flat=True))
        samples = []
        for _ in range(options.patches):
            pk = rng.choice(ids)
            # The patch a user sends is built from what they saw: outside the timing.
            patch = patches_for(deployment_rep(Deployment.objects.get(pk=pk)), rng)
            start = time.perf_counter()
            deployment_update(deployment_id=pk, patch=patch, actor="bench", reason="benchmark")
            samples.append((time.perf_counter() - start) * 1000)

        applied = Change.objects.filter(outcome=Change.Outcome.APPLIED).count()
        print(f"{machine()}; {options.deployments:,} deployments cached")
        print(f"deployment_update: {describe(samples)}")
        print(f"throughput: {1000 * len(samples) / sum(samples):,.0f} patches/s on one thread")
        print(f"change log: {applied:,} applied changes recorded; peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
