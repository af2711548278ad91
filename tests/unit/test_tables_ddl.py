"""The read models' DDL: every statement is one PostgreSQL accepts as written."""

from __future__ import annotations

from projections.tables import TABLES, ddl


def test_a_table_of_key_columns_only_adds_no_columns() -> None:
    """``grid_visit_days`` has no column outside its key: no empty ALTER TABLE for it."""
    assert any(set(t.column_names) == set(t.key) for t in TABLES)
    for indexes in (True, False):
        statements = [s.strip() for s in ddl(indexes).split(";")]
        assert not [s for s in statements if s.startswith("ALTER TABLE") and "ADD" not in s]
