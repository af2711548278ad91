"""Copies of frozen values with some fields changed, at the cost of a dict copy.

The workflow and the projections copy frozen values on every event: the case state in
``evolve``, the submission in ``stamp``, the read-model rows in the folds. The general tools
(``dataclasses.replace``, pydantic's ``model_copy``) run ``__init__`` over every field or copy
each internal dict through the ``copy`` module, which made them a leading cost per record.
These copies skip that, and are only for values whose changes are already valid: fields of
the right type, set by the pure rules themselves (never input from outside).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["built", "model_with", "with_changes"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def with_changes(value: T, **changes: Any) -> T:
    """A copy of the frozen dataclass ``value`` with ``changes`` (no ``__post_init__``: only
    for dataclasses that have none)."""
    new = object.__new__(type(value))
    new.__dict__.update(value.__dict__)
    new.__dict__.update(changes)
    return new


def built(cls: type[T], **fields: Any) -> T:
    """``cls(**fields)`` for the frozen dataclass ``cls``, its defaults for the fields not
    given, without running ``__init__`` (which sets each field through ``object.__setattr__``:
    no ``__post_init__``, no default factories)."""
    defaults = _DEFAULTS.get(cls)
    if defaults is None:
        defaults = _DEFAULTS[cls] = _defaults(cls)
    new = object.__new__(cls)
    new.__dict__.update(defaults, **fields)
    return new


_DEFAULTS: dict[type, dict[str, Any]] = {}


def _defaults(cls: type) -> dict[str, Any]:
    fields = dataclasses.fields(cls)
    if any(f.default_factory is not dataclasses.MISSING for f in fields):
        raise TypeError(f"{cls.__name__} has default factories: build it with its constructor")
    return {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}


def model_with(model: M, **changes: Any) -> M:
    """What ``model.model_copy(update=changes)`` gives for a frozen model that forbids extra
    fields: the same fields, the same set of fields set, no private or extra attributes."""
    new = object.__new__(type(model))
    setattr_ = object.__setattr__
    setattr_(new, "__dict__", {**model.__dict__, **changes})
    setattr_(new, "__pydantic_fields_set__", model.__pydantic_fields_set__ | changes.keys())
    setattr_(new, "__pydantic_extra__", None)
    setattr_(new, "__pydantic_private__", None)
    return new
