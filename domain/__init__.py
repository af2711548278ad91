"""The pure domain, used by both the workflow (``processors``) and the read models
(``projections``): each event type's meaning (``meanings``), the case state machine and its
rules, working-time calendar and SLA arithmetic, the reference view, the case fold and the
statistics moves.

Everything here is a plain function over plain values: no Kafka, no SQL, no clock, no
environment, no files (``tests/unit/test_purity.py`` enforces it), so the live processors,
the projector and replay compute the same answers from the same log.
"""
