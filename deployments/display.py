"""How durations and moments read on the pages: one place, so every page agrees."""

from __future__ import annotations

from datetime import timedelta

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def format_duration(milliseconds: int | None) -> str:
    """A duration as people read it: its two largest units, truncated ("3h 20m").

    None (unknown) is a dash; under a second, milliseconds; negative durations (seen in
    imported data) keep their sign. (Called a dozen times per pull-request row: plain
    divmods, no loop.)
    """
    if milliseconds is None:
        return "—"
    if milliseconds < 0:
        return "−" + format_duration(-milliseconds)
    if milliseconds < SECOND_MS:
        return f"{milliseconds} ms"
    minutes, seconds = divmod(milliseconds // SECOND_MS, 60)
    if not minutes:
        return f"{seconds}s"
    hours, minutes_left = divmod(minutes, 60)
    if not hours:
        return f"{minutes}m {seconds}s" if seconds else f"{minutes}m"
    days, hours_left = divmod(hours, 24)
    if not days:
        return f"{hours}h {minutes_left}m" if minutes_left else f"{hours}h"
    return f"{days}d {hours_left}h" if hours_left else f"{days}d"


def exact_duration(milliseconds: int | None, readable: str | None = None) -> str:
    """The readable duration with the exact milliseconds, for titles and tooltips.

    `readable`, when the caller has already formatted the duration, saves doing it twice.
    """
    if milliseconds is None:
        return "unknown"
    if readable is None:
        readable = format_duration(milliseconds)
    return f"{readable} ({milliseconds:,} ms)"


def relative_time(delta: timedelta) -> str:
    """How long ago, roughly: `just now`, `5 min ago`, `3 h ago`, `6 days ago`, ..."""
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "in the future"
    if seconds < 60:
        return "just now"
    for limit, unit, name in (
        (3600, 60, "min"),
        (2 * 86400, 3600, "h"),
        (14 * 86400, 86400, "days"),
        (9 * 7 * 86400, 7 * 86400, "weeks"),
        (730 * 86400, 30 * 86400, "months"),
    ):
        if seconds < limit:
            return f"{seconds // unit} {name} ago"
    return f"{seconds // (365 * 86400)} years ago"
