-- Runs once, when the compose postgres volume is first initialized (docker-entrypoint-initdb.d),
-- as the superuser in the default database. The least-privilege role pgmon connects as:
-- pg_monitor and nothing else (pgmon refuses to start as a role that could write).
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE EXTENSION IF NOT EXISTS pgstattuple;
CREATE ROLE pgmon_monitor LOGIN PASSWORD 'pgmon-demo-only';
GRANT pg_monitor TO pgmon_monitor;
-- PostgreSQL 14 and older let PUBLIC create in schema public; pgmon refuses such a role.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
