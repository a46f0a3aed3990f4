"""Unsaved model instances built without `Model.__init__`, for the bulk paths.

The demo seed and sync build hundreds of thousands of instances only to turn them into
rows (`bulk.py`); `Model.__init__`, which matches arguments to fields one by one, took
about 40% of the seed and 30% of parsing a synced page. These builders give the same
instance dictionary `__init__` would for keyword arguments by attname, defaults
included; tests/test_unsaved.py compares the two for every cached model.

Not for models with `pre_init`/`post_init` receivers or arguments that are related
objects: pass `*_id` attnames.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models
from django.db.models.base import ModelState

M = TypeVar("M", bound=models.Model)


def exact(model: type[M], **values: Any) -> M:
    """An instance whose fields are exactly `values`: for callers that give every
    concrete field by attname (tests/test_seed_demo.py checks the demo's)."""
    instance = model.__new__(model)
    values["_state"] = ModelState()
    instance.__dict__ = values
    return instance


def unsaved(model: type[M], **values: Any) -> M:
    """As `model(**values)`: `values` by attname, every other field at its default."""
    constants, factories = _defaults(model)
    fields = dict(constants)
    for attname, factory in factories:
        if attname not in values:
            fields[attname] = factory()
    fields.update(values)
    fields["_state"] = ModelState()
    instance = model.__new__(model)
    instance.__dict__ = fields
    return instance


@functools.cache
def _defaults(
    model: type[models.Model],
) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...]]:
    """The model's constant defaults, and the fields whose default is made per instance."""
    constants: dict[str, Any] = {}
    factories = []
    for field in model._meta.concrete_fields:
        if field.has_default() and callable(field.default):
            factories.append((field.attname, field.default))
        else:
            constants[field.attname] = field.get_default()
    return constants, tuple(factories)
