-- The schema registry's database, beside the application's (POSTGRES_DB).
-- Used by infra/compose.yaml; the local stack creates it in infra/stack/postgres.py.
CREATE DATABASE apicurio;
