"""Limits on what one request, phone, key, address or payer may cost us: the body cap
(`bodies`), the shared rate limits in Redis (`rates`), and the size of a stored body
(`stored`)."""
