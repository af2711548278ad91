"""Open311 GeoReport v2 for residents' apps, on the gateway's credentials, intake and sink.

``router(settings, states)`` serves ``/open311/v2/services``, ``/services/{code}``,
``/requests`` (POST and GET) and ``/requests/{id}``, each as ``.json`` or ``.xml``. The modules
behind it: ``rules`` (the spec's pure rules: a filed request read from its form, the query
filters, where a point lies, a case's public status), ``formats`` (JSON and XML as the spec
writes them, errors included), ``book`` (services, departments and grids from the reference
log), ``store`` (the requests filed and residents' personal data, in the gateway's
PostgreSQL, never on the log), ``states`` (the case state a GET reads, injected).
"""
