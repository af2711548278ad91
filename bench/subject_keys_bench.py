"""A seal's latency in the key store (``events.subject_keys``), over a pool and over one
connection: ``python -m bench.subject_keys_bench [SEALS]`` (500), 50 subjects, a schema of its
own on FQ_PG_DSN, dropped after.

On the local stack (2 CPUs shared, three runs): p50 0.16-0.20 ms over a pool (p90 1.1-1.3),
0.14-0.17 ms over one connection (p90 0.2-0.4); when the store opened a connection for every
seal, p50 was 5.0-5.4 ms (p90 5.9-7.7).
"""

from __future__ import annotations

import sys
import time
import uuid
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from bench.common import latency_figures, report
from events.subject_keys import SubjectKeys
from infra.settings import ConnectionSettings

DETAILS = {"name": "王小明", "phone": "13800138000", "id_number": "330203199001011234"}


def seal_ms(keys: SubjectKeys, seals: int) -> list[float]:
    """The latency of each of ``seals`` seals, in milliseconds, after one to make the tables."""
    keys.seal("warm-up", DETAILS)
    out = []
    for i in range(seals):
        start = time.perf_counter()
        keys.seal(f"resident-{i % 50}", DETAILS)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main(seals: int = 500) -> dict[str, Any]:
    dsn = ConnectionSettings().pg_dsn.get_secret_value()
    schema = f"bench_keys_{uuid.uuid4().hex[:8]}"
    try:
        with ConnectionPool(dsn, min_size=1, max_size=2) as pool:
            pooled = seal_ms(SubjectKeys(pool, schema), seals)
        with SubjectKeys.connect(dsn, schema) as keys:
            single = seal_ms(keys, seals)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    return {
        "seals": seals,
        "pool": latency_figures(pooled, (0.5, 0.9, 0.99), digits=2),
        "one_connection": latency_figures(single, (0.5, 0.9, 0.99), digits=2),
    }


if __name__ == "__main__":
    report("subject_keys", main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
