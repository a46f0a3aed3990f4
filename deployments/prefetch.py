"""Run a generator in a child process, a few items ahead of the one consuming it.

Sync fetches, decodes and parses LaunchDarkly's pages and prepares their rows
(`sync._parsed`) while the main process writes the previous ones. Threads could not
overlap the two: both halves are Python, and the GIL ran them one at a time (a sync
spent a third of its time waiting on the other thread). A child process has its own.

The child is forked, so it starts from the parent's state (settings, the client, the
generator itself) without pickling any of it; only the items travel back, pickled,
through a bounded queue that keeps memory flat. It must not use the parent's database
connection, and the generators given here do not. Its exceptions are raised in the
parent, in order (upstream errors as themselves); Ctrl-C is the parent's to handle; the
child stops when the parent stops consuming, and when the parent dies.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import traceback
from collections.abc import Iterator
from typing import Any

from . import upstream

PUT_TIMEOUT = 0.5  # seconds between checks that the parent is still there
GET_TIMEOUT = 1.0  # seconds between checks that the child is still there


class ProducerDied(RuntimeError):
    """The child process ended without finishing or reporting an error."""


def prefetched(items: Iterator[Any], *, depth: int) -> Iterator[Any]:
    """`items`, produced in a forked child process up to `depth` ahead."""
    context = multiprocessing.get_context("fork")
    handoff = context.Queue(maxsize=depth)
    producer = context.Process(
        target=_produce, args=(items, handoff, os.getpid()), name="sync-fetch", daemon=True
    )
    producer.start()
    finished = False
    try:
        while True:
            try:
                kind, payload = handoff.get(timeout=GET_TIMEOUT)
            except queue.Empty:
                if not producer.is_alive():
                    raise ProducerDied(
                        f"the fetching process ended unexpectedly (exit code {producer.exitcode})"
                    ) from None
                continue
            if kind == "item":
                yield payload
            elif kind == "done":
                finished = True
                return
            else:
                raise _rebuilt(payload)
    finally:
        if finished:
            producer.join(timeout=5)  # it is on its way out
        if producer.is_alive():  # the consumer stopped early, or failed
            producer.terminate()
        producer.join(timeout=5)
        handoff.close()


def _produce(items: Iterator[Any], handoff: Any, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops us
    try:
        for item in items:
            _put(handoff, ("item", item), parent)
        _put(handoff, ("done", None), parent)
    except Exception as error:
        _put(handoff, ("error", _report(error)), parent)
    handoff.close()
    handoff.join_thread()


def _put(handoff: Any, message: tuple[str, Any], parent: int) -> None:
    while True:
        try:
            handoff.put(message, timeout=PUT_TIMEOUT)
            return
        except queue.Full:
            if os.getppid() != parent:  # orphaned: nobody will read this
                os._exit(0)


def _report(error: Exception) -> dict[str, Any]:
    """What the parent needs to raise `error` again: exceptions with keyword-only
    arguments do not survive pickling as themselves."""
    return {
        "type": type(error).__name__,
        "args": error.args,
        "state": dict(vars(error)),
        "traceback": traceback.format_exc(),
    }


def _rebuilt(report: dict[str, Any]) -> Exception:
    kind = getattr(upstream, report["type"], None)
    if isinstance(kind, type) and issubclass(kind, upstream.UpstreamError):
        error = kind.__new__(kind)
        Exception.__init__(error, *report["args"])
        error.__dict__.update(report["state"])
        return error
    return RuntimeError(f"the fetching process failed:\n{report['traceback']}")
