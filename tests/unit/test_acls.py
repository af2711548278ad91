"""The cluster's grants as data: who may write what."""

from __future__ import annotations

from events.topics import CANONICAL, INBOX, OUTCOMES, REJECTIONS
from infra.acls import grants
from infra.topics import TOPICS


def _writers(prefix: str = "", integrators: tuple[str, ...] = ()) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for g in grants(prefix, integrators=integrators):
        if g.resource == "topic" and "WRITE" in g.operations and not g.prefixed:
            out.setdefault(g.name, set()).add(g.principal)
    return out


def test_only_the_workflow_writes_what_it_decides() -> None:
    writers = _writers(integrators=("dept.a", "dept.b"))
    for topic in (*CANONICAL.values(), REJECTIONS, OUTCOMES):
        assert writers[topic] == {"workflow"}, topic


def test_integrators_and_the_gateway_write_the_inboxes_only() -> None:
    writers = _writers(integrators=("dept.a",))
    for topic in INBOX.values():
        assert writers[topic] == {"gateway", "dept.a"}
    assert not {"dept.a", "gateway"} & set().union(
        *(w for t, w in writers.items() if t not in INBOX.values())
    )


def test_every_declared_topic_has_a_writer_and_the_prefix_is_applied() -> None:
    writers = _writers("dev.")
    assert {f"dev.{t.name}" for t in TOPICS} <= writers.keys()
    assert not any(name.startswith("fq.") for name in writers)
