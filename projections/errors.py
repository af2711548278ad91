"""The projection room's errors: a store that fails, and projection schemas asked for wrongly."""

from __future__ import annotations

from events.errors import InfrastructureError
from schemas.errors import FengqiaoError

__all__ = ["NotPromotable", "ProjectionError", "ProjectionStoreError", "UnknownProjection"]


class ProjectionError(FengqiaoError):
    """Something about the read models or their schemas."""


class ProjectionStoreError(ProjectionError, InfrastructureError):
    """PostgreSQL could not be reached or refused a write (which was rolled back)."""


class UnknownProjection(ProjectionError, LookupError):
    """No projection schema of that name exists."""


class NotPromotable(ProjectionError):
    """A projection schema that must not serve live traffic (e.g. an as-of replay)."""
