"""`/metrics` for Prometheus: what happened in the serving processes (`events`), counted
as it happens, and how things stand (`state`), read from the database at scrape time so
that every process answers the same."""
