"""The read models' DDL: one statement per job, none empty."""

from __future__ import annotations

import re

from projections.tables import TABLES, ddl


def test_a_table_of_key_columns_only_gets_no_empty_alter_statement() -> None:
    keyed_only = [t for t in TABLES if all(name in t.key for name, _ in t.columns)]
    assert keyed_only  # e.g. the rollups' bookkeeping of what was counted once
    assert not re.search(r"ALTER TABLE \w+\s*;", ddl())


def test_every_table_with_other_columns_adds_those_missing_from_an_older_schema() -> None:
    text = ddl(indexes=False)
    for t in TABLES:
        others = [name for name, _ in t.columns if name not in t.key]
        if others:
            assert f"ALTER TABLE {t.name} ADD COLUMN IF NOT EXISTS {others[0]} " in text
