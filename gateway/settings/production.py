"""What the production programs need beyond a configuration that parses: `alafia serve`
is closed by default, and refuses to start open.

An empty environment is a working configuration for `alafia demo` and the tests (embedded
Redis, console SMS, no token asked). `alafia serve` faces the network, so it insists on the
secrets Africa's Talking's callbacks carry, FHIR URLs named under a real address, a Redis
server shared by every process, and a real payment provider or none; `alafia worker` on the
last two (it serves no callback).
Every problem is named at once, like every `ConfigError`, and no secret is repeated.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from gateway.settings import SANDBOX, Settings
from gateway.settings.environment import MIN_TOKEN_LENGTH

# MAKE_ONE prints 32 characters, twice MIN_TOKEN_LENGTH.
MAKE_ONE = 'make one with: python3 -c "import secrets; print(secrets.token_urlsafe(24))"'


def _token_problem(name: str, token: str | None, missing: str) -> str | None:
    if token is None:
        return f"{name} is not set: {missing} ({MAKE_ONE})"
    if len(token) < MIN_TOKEN_LENGTH:
        return f"{name} is shorter than {MIN_TOKEN_LENGTH} characters ({MAKE_ONE})"
    return None


def worker_problems(settings: Settings) -> list[str]:
    """What `alafia worker` (and `alafia serve`) refuse to run with."""
    problems = []
    if settings.redis_url is None:
        problems.append(
            "REDIS_URL is not set: the embedded Redis is for `alafia demo` and the tests; "
            "production processes share one Redis server (e.g. redis://127.0.0.1:6379/0)"
        )
    if settings.payments.default_provider == SANDBOX:
        problems.append(
            "PAYMENT_PROVIDER=sandbox: the sandbox confirms every payment without moving "
            "money; set momo or fedapay, or leave it unset for no mobile money"
        )
    return problems


def serve_problems(settings: Settings) -> list[str]:
    """What `alafia serve` refuses to start with; empty when it may start."""
    ussd = _token_problem(
        "USSD_CALLBACK_TOKEN",
        settings.ussd_callback_token,
        "anyone who reaches /ussd could answer as any phone; set a secret and give "
        "Africa's Talking the URL /ussd?token=<the secret>",
    )
    # The allow-list may stand in for this token; not for the USSD one, which is always
    # required: a forged hop acts as a phone (an agent's included).
    at = (
        None
        if settings.sms.callback_token is None and settings.callback_networks
        else _token_problem(
            "AT_CALLBACK_TOKEN",
            settings.sms.callback_token,
            "anyone could post to /sms/delivery, /sms/inbound, /sms/optout, /ussd/events and "
            "/voice; "
            "set a secret and add ?token=<the secret> to those callback URLs, or list "
            "Africa's Talking's networks in CALLBACK_ALLOW_NETWORKS instead",
        )
    )
    problems = [problem for problem in (ussd, at) if problem is not None]
    return problems + _fhir_problems(settings) + worker_problems(settings)


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _fhir_problems(settings: Settings) -> list[str]:
    """The FHIR extension URLs and identifier systems are names facilities' software keeps:
    built on the default PUBLIC_BASE_URL (127.0.0.1) they would name nothing, and setting it
    later would rename every one of them."""
    if settings.register.fhir_canonical_base is not None:
        return []
    if not _loopback(settings.payments.public_base_url):
        return []
    return [
        "FHIR_CANONICAL_BASE is not set and PUBLIC_BASE_URL is "
        f"{settings.payments.public_base_url}: every FHIR extension URL and identifier system "
        "would be named under a loopback address; set PUBLIC_BASE_URL to the gateway's public "
        "URL or FHIR_CANONICAL_BASE to the network's base (e.g. https://fhir.mutuelles.bj), "
        "once, for good"
    ]
