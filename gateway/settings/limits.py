"""The limits section of the settings: how big a request body may be, and how often one
phone, facility key, address or payer number may do what a scan or a flood would repeat.

Every default is far above what a busy hospital or mutual office does and far below
what enumerating members or guessing passwords needs; docs/operations.md (## Limits)
gives the figures behind each one.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.settings.environment import Environment

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Rate:
    """At most `limit` uses per `window` seconds."""

    limit: int
    window: int


@dataclass(frozen=True)
class LimitSettings:
    body_bytes: int  # any request body, except the household import's
    import_body_bytes: int  # the household CSV import's body
    member_checks: Rate  # member/eligibility checks per phone (USSD and SMS)
    eligibility: Rate  # eligibility requests per facility API key
    login_failures_per_ip: Rate  # failed staff logins from one address, any account
    login_failures_per_account: Rate  # failed logins for one account from one address
    payment_prompts: Rate  # mobile-money prompts sent to one payer number

    @classmethod
    def _read(cls, env: Environment) -> LimitSettings:
        return cls(
            body_bytes=env.whole_number("BODY_LIMIT_BYTES", 64 * KIB, KIB, 16 * MIB),
            import_body_bytes=env.whole_number("IMPORT_BODY_LIMIT_BYTES", 16 * MIB, KIB, 512 * MIB),
            member_checks=Rate(env.whole_number("MEMBER_CHECKS_PER_HOUR", 120, 1, 100_000), 3600),
            eligibility=Rate(
                env.whole_number("ELIGIBILITY_CHECKS_PER_MINUTE", 120, 1, 100_000), 60
            ),
            login_failures_per_ip=Rate(
                env.whole_number("LOGIN_FAILURES_PER_IP", 30, 1, 10_000), 15 * 60
            ),
            login_failures_per_account=Rate(
                env.whole_number("LOGIN_FAILURES_PER_ACCOUNT", 5, 1, 1000), 15 * 60
            ),
            payment_prompts=Rate(env.whole_number("PAYMENT_PROMPTS_PER_HOUR", 10, 1, 10_000), 3600),
        )
