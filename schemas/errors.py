"""Root of Fengqiao's exception tree, and the contract's own errors.

The root lives here because ``schemas`` is the one room every other room may import; the
rest of the tree is in ``events.errors``.
"""

from __future__ import annotations


class FengqiaoError(Exception):
    """Root of every error Fengqiao raises on purpose."""


class ContractError(FengqiaoError):
    """An event or schema does not satisfy the Avro contract."""


class SchemaFileError(ContractError):
    """A .avsc file is missing, unreadable or not a valid Avro schema."""


class IncompatibleSchema(ContractError):
    """A schema version breaks BACKWARD_TRANSITIVE compatibility with an earlier version."""
