"""The deployments list's query string, checked: what to show, in which order, which page.

Every filter lives in the URL. A bad value (a date that is no date, an unknown sort, a
page size of 37, a garbled cursor) becomes an error on its field and the list falls back
to that field's default, keeping every other filter: the page still answers, and the
form, bound to what was sent, still shows what the user typed.

Decisions:
- The default period is the last 4 weeks: a sprint or two, and a bound on every scan
  (counts, sorts and text search look at about 8% of a year). "All time" is one click.
- Periods and dates are days in the organisation's timezone (`settings.TIME_ZONE`). "Last
  N weeks" is today and the 7·N − 1 days before it, from local midnight; `from` and `to`
  are inclusive days. Either date alone is an open range. Dates win over the period.
- Text search (`q`) matches one phrase, case-insensitively, anywhere in the application,
  version, a pull request's title or author, or a flag key; "#1234" or "1234" also finds
  pull request 1234.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.http import QueryDict
from django.utils import timezone

from .queries.listing import (
    DEFAULT_ORDER,
    SORT_KEYS,
    Cursor,
    CursorError,
    ListFilter,
    ListOrder,
    decode_cursor,
)

PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 25
PERIODS = {"1w": 1, "2w": 2, "4w": 4, "12w": 12}
DEFAULT_PERIOD = "4w"
ALL_TIME = "all"
CUSTOM = "custom"
PERIOD_CHOICES = (
    ("1w", "Last week"),
    ("2w", "Last 2 weeks"),
    ("4w", "Last 4 weeks"),
    ("12w", "Last 12 weeks"),
    (ALL_TIME, "All time"),
    (CUSTOM, "Custom dates"),
)
ACTIVE_CHOICES = (("", "Any"), ("yes", "Active"), ("no", "Not active"))
ARCHIVED_HIDDEN, ARCHIVED_SHOWN, ARCHIVED_ONLY = "", "show", "only"
ARCHIVED_CHOICES = (
    (ARCHIVED_HIDDEN, "Hidden"),
    (ARCHIVED_SHOWN, "Shown"),
    (ARCHIVED_ONLY, "Only archived"),
)
MAX_KEY_LENGTH = 256
MAX_SEARCH_LENGTH = 200
MAX_VALUES = 50
# Dates beyond these are typos; their day boundaries would also overflow datetime.
EARLIEST_DATE, LATEST_DATE = date(1970, 1, 1), date(9998, 12, 31)


def sort_choices() -> list[tuple[str, str]]:
    choices = []
    for key in SORT_KEYS.values():
        choices.append((f"-{key.name}", f"{key.label}, highest first"))
        choices.append((key.name, f"{key.label}, lowest first"))
    # Started reads better as time.
    labels = {"-started": "Newest first", "started": "Oldest first"}
    return [(value, labels.get(value, label)) for value, label in choices]


class TextListField(forms.Field):
    """A repeated query parameter (`?application=a&application=b`), as a tuple of
    distinct, non-blank strings in the order given."""

    widget = forms.SelectMultiple
    default_error_messages = {
        "too_long": "Each value must be at most %(limit)d characters.",
        "too_many": "Choose at most %(limit)d values.",
    }

    def __init__(self, *, max_length: int = MAX_KEY_LENGTH, **kwargs: Any):
        self.max_length = max_length
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> tuple[str, ...]:
        if not value:
            return ()
        values = value if isinstance(value, list | tuple) else [value]
        return tuple(dict.fromkeys(str(item).strip() for item in values if str(item).strip()))

    def validate(self, value: tuple[str, ...]) -> None:
        super().validate(value)
        if len(value) > MAX_VALUES:
            raise forms.ValidationError(
                self.error_messages["too_many"], code="too_many", params={"limit": MAX_VALUES}
            )
        for item in value:
            if len(item) > self.max_length:
                raise forms.ValidationError(
                    self.error_messages["too_long"],
                    code="too_long",
                    params={"limit": self.max_length},
                )
            ProhibitNullCharactersValidator()(item)


class DeploymentListForm(forms.Form):
    """The list's query string. Field names are the URL's parameter names."""

    project = forms.CharField(required=False, max_length=MAX_KEY_LENGTH)
    environment = forms.CharField(required=False, max_length=MAX_KEY_LENGTH)
    application = TextListField()
    status = TextListField(max_length=64)
    kind = TextListField(max_length=64)
    active = forms.ChoiceField(required=False, choices=ACTIVE_CHOICES)
    archived = forms.ChoiceField(required=False, choices=ARCHIVED_CHOICES)
    period = forms.ChoiceField(required=False, choices=PERIOD_CHOICES)
    q = forms.CharField(required=False, max_length=MAX_SEARCH_LENGTH, label="Search")
    sort = forms.ChoiceField(required=False, choices=sort_choices)
    size = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(size, str(size)) for size in PAGE_SIZES],
        label="Per page",
    )
    cursor = forms.CharField(required=False, max_length=1_000, label="Page link")
    # `count=1`: count a text search's matches in this request rather than in a second
    # one (the page's link for browsers without JavaScript).
    count = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # `from` is a Python keyword, so these two are added by name.
        self.fields["from"] = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
        self.fields["to"] = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
        self.fields["size"].error_messages["invalid_choice"] = (
            "Choose 25, 50 or 100 deployments per page."
        )
        self.fields["sort"].error_messages["invalid_choice"] = "That is not a column to sort by."

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("from", "to"):
            day = data.get(name)
            if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
                self.add_error(name, f"Choose a date between {EARLIEST_DATE} and {LATEST_DATE}.")
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("to", "The end date is before the start date.")
        dated = any(self.data.get(name) for name in ("from", "to"))
        if data.get("period") == CUSTOM and not dated:
            self.add_error("from", "Give a start date, an end date, or both.")
        if data.get("cursor") and "sort" not in self.errors:
            try:
                data["cursor"] = decode_cursor(data["cursor"], _order(data.get("sort")))
            except CursorError:
                self.add_error(
                    "cursor",
                    "That page link is out of date or damaged: showing the first page.",
                )
        return data


@dataclass(frozen=True)
class ListRequest:
    """A checked list request; `form` is bound to what was sent, with its errors."""

    form: DeploymentListForm
    where: ListFilter
    order: ListOrder
    size: int
    cursor: Cursor | None
    period: str  # a key of PERIODS, ALL_TIME or CUSTOM
    start: date | None = None  # the custom range, as days
    end: date | None = None
    archived: str = ARCHIVED_HIDDEN
    count_now: bool = False  # count a text search's matches now, not in a second request
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field label, message)

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        """The request's valid filters, sort and size as query parameters (defaults
        left out), with `changes` applied; a value of None removes a parameter."""
        values: dict[str, Any] = {
            "project": self.where.project_key,
            "environment": self.where.environment_key,
            "application": self.where.application_keys,
            "status": self.where.statuses,
            "kind": self.where.kinds,
            "active": {True: "yes", False: "no", None: ""}[self.where.active],
            "archived": self.archived,
            "period": "" if self.period in (DEFAULT_PERIOD, CUSTOM) else self.period,
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "q": self.where.search,
            "sort": "" if self.order == DEFAULT_ORDER else self.order.param,
            "size": "" if self.size == DEFAULT_PAGE_SIZE else str(self.size),
        }
        values.update(changes)
        return list(_pairs(values))


def _pairs(values: dict[str, Any]) -> Iterable[tuple[str, str]]:
    for name, value in values.items():
        if isinstance(value, tuple | list):
            yield from ((name, item) for item in value)
        elif value:
            yield name, str(value)


def _order(text: str | None) -> ListOrder:
    return ListOrder.parse(text) if text else DEFAULT_ORDER


def parse_list_request(query: QueryDict, *, now: datetime | None = None) -> ListRequest:
    """The list request a query string asks for; never raises for bad input."""
    form = DeploymentListForm(query)
    form.is_valid()
    data = form.cleaned_data
    now = now or timezone.now()
    # Only valid dates are in `data`: a bad one is dropped, and the other still applies.
    start, end = data.get("from"), data.get("to")
    period = CUSTOM if start or end else data.get("period") or DEFAULT_PERIOD
    if period == CUSTOM and not (start or end):
        period = DEFAULT_PERIOD
    started_from, started_before = _started_range(period, start, end, now)
    archived = data.get("archived") or ARCHIVED_HIDDEN
    where = ListFilter(
        project_key=data.get("project") or "",
        environment_key=data.get("environment") or "",
        application_keys=data.get("application") or (),
        statuses=data.get("status") or (),
        kinds=data.get("kind") or (),
        active={"yes": True, "no": False}.get(data.get("active") or ""),
        archived={ARCHIVED_HIDDEN: False, ARCHIVED_ONLY: True}.get(archived),
        started_from=started_from,
        started_before=started_before,
        search=data.get("q") or "",
    )
    cursor = data.get("cursor")
    return ListRequest(
        form=form,
        where=where,
        order=_order(data.get("sort")),
        size=data.get("size") or DEFAULT_PAGE_SIZE,
        cursor=cursor if isinstance(cursor, Cursor) else None,
        period=period,
        start=start if period == CUSTOM else None,
        end=end if period == CUSTOM else None,
        archived=archived,
        count_now=bool(data.get("count")),
        errors=[
            (_label(form, name), message)
            for name, messages in form.errors.items()
            for message in messages
        ],
    )


def _label(form: forms.Form, name: str) -> str:
    if name in form.fields:
        return str(form.fields[name].label or name.capitalize())
    return "Filters"


def _started_range(
    period: str, start: date | None, end: date | None, now: datetime
) -> tuple[datetime | None, datetime | None]:
    if period == CUSTOM:
        return (
            _local_midnight(start) if start else None,
            _local_midnight(end + timedelta(days=1)) if end else None,
        )
    if period == ALL_TIME:
        return None, None
    today = timezone.localdate(now)
    return _local_midnight(today - timedelta(days=7 * PERIODS[period] - 1)), None


def _local_midnight(day: date) -> datetime:
    """The first moment of `day` in the organisation's timezone (even when a DST change
    skips midnight: zoneinfo folds forward)."""
    return timezone.make_aware(datetime.combine(day, time.min))
