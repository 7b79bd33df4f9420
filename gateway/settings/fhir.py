"""FHIR_CANONICAL_BASE: the base of the canonical URLs of our FHIR extensions and
identifier systems (`<base>/StructureDefinition/coverage-status`...).

Unset, it is `PUBLIC_BASE_URL/fhir`, where the gateway serves those definitions itself.
A network of mutuals running several gateways sets one base for all of them, so that a
facility's software sees the same URLs whichever it asks; once clients rely on it, it
must not change (a URL is the extension's name).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from gateway.settings.environment import Environment


def canonical_base(env: Environment) -> str | None:
    raw = env.text("FHIR_CANONICAL_BASE").rstrip("/")
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        env.problem(
            "FHIR_CANONICAL_BASE must be an absolute http(s) URL without query or fragment, "
            f"like https://fhir.mutuelles.bj, got {raw!r}"
        )
        return None
    return raw
