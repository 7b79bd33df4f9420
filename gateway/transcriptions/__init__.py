"""Names said on the voice line: their recordings fetched, queued for staff to type, and
the household's SMS and register copy released once the last is typed."""
