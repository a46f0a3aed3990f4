"""Real threads for concurrency tests: each with its own database connection."""

import threading

from django.db import connection


def run_in_threads(work, count, *, timeout=120):
    """Runs `work(index)` in `count` threads released together; returns (results, errors).

    Each thread closes its own database connection when done, as a request would.
    """
    barrier = threading.Barrier(count)
    outcomes, failures = [], []

    def target(index):
        try:
            barrier.wait()
            outcomes.append(work(index))
        except Exception as error:  # collected for the test to assert on
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return outcomes, failures
