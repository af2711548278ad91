"""``fengqiao gateway``: the HTTP way onto the inbox topics for systems that do not speak
Kafka and Avro, with a credential per system.

``app.create_app(settings, routers)`` builds the FastAPI app; the modules behind it are small
and each does one job: ``settings`` (configuration), ``database`` (its tables),
``credentials`` (keys, hashed, with their scope) and ``auth`` (who is calling), ``scope`` (the
pure rule of what a credential may submit), ``intake`` (a JSON body to a stamped event),
``runtime`` (a process's resources and the one path from body to event), ``sink`` (Kafka
acknowledgements awaited), ``idempotency`` and ``submissions`` (PostgreSQL), ``outcomes``
(the workflow's answers materialized from ``fq.outcomes``), ``places`` (the place tree, for
districts), ``openapi`` and ``shapes`` (its document), ``routes_*`` and ``problems``.
"""
