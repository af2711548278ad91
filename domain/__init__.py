"""The pure rules of the workflow: working-time calendar, SLA arithmetic, reference view and
the case state machine.

Everything here is a plain function over plain values: no Kafka, no SQL, no clock, no
environment, no files (``tests/unit/test_purity.py`` enforces it), so the live processors,
the projector and replay compute the same answers from the same log.
"""
