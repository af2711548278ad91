"""``fengqiao gateway``: the HTTP way onto the inbox topics for systems that do not speak
Kafka and Avro, with a credential per system.

``app.create_app(settings)`` builds the FastAPI app; the modules behind it are small and each
does one job: ``settings`` (configuration), ``credentials`` (keys, hashed, with their scope),
``scope`` (the pure rule of what a credential may submit), ``intake`` (a JSON body to an
event, stamped), ``sink`` (Kafka acknowledgements awaited), ``idempotency`` and
``submissions`` (PostgreSQL), ``outcomes`` (the workflow's answers materialized from
``fq.outcomes``), ``places`` (the place tree, for districts), ``routes_*`` and ``problems``.
"""
