"""prefetch.py: a generator run in a forked child process, a few items ahead."""

import os
import time

import pytest

from deployments import upstream
from deployments.prefetch import ProducerDied, prefetched


def test_prefetching_keeps_order_and_raises_the_producers_error_in_place():
    def steps():
        yield 1
        yield 2
        raise upstream.UpstreamUnavailable("gone")

    seen = []
    with pytest.raises(upstream.UpstreamUnavailable, match="gone"):
        for step in prefetched(steps(), depth=1):
            seen.append(step)

    assert seen == [1, 2]


def test_prefetching_stops_the_producer_when_the_consumer_stops(tmp_path):
    produced = tmp_path / "produced"

    def steps():
        for number in range(1000):
            with produced.open("a") as record:  # the producer runs in another process
                record.write(f"{number}\n")
            yield number

    for step in prefetched(steps(), depth=2):
        if step == 3:
            break

    time.sleep(0.3)
    lines = produced.read_text().splitlines()
    assert 4 <= len(lines) < 10


def test_prefetching_runs_the_producer_in_another_process():
    def steps():
        yield os.getpid()

    assert list(prefetched(steps(), depth=1)) != [os.getpid()]


def test_a_producer_that_dies_is_said_to_have_died():
    def steps():
        yield 1
        os._exit(3)

    with pytest.raises(ProducerDied, match="exit code 3"):
        list(prefetched(steps(), depth=1))


def test_other_errors_come_back_with_the_childs_traceback():
    def steps():
        yield 1
        raise ValueError("bad page")

    with pytest.raises(RuntimeError, match="ValueError: bad page"):
        list(prefetched(steps(), depth=1))
