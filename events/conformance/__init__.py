"""The integrators' conformance kit: sample submissions with the answers they expect, and the
fixtures that ship with it (``fixtures/*.ndjson``). ``fengqiao conformance`` runs them through
a sandbox of the workflow (``infra.conformance``)."""
