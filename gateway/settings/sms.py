"""The SMS section of the settings: which backend sends (the console in the demo,
Africa's Talking otherwise), how fast, the quiet hours, when to remind and when to give
up. Africa's Talking needs its account and the token its callbacks carry: without them
the gateway could neither send nor trust a delivery report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateway.settings.environment import Environment

SMS_BACKENDS = ("console", "africastalking")


def _quiet_hours(env: Environment) -> str:
    spec = env.raw("SMS_QUIET_HOURS", "21:00-07:00")
    if not spec.strip():
        return spec
    found = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", spec.strip())
    hours, minutes = (found.group(1, 3), found.group(2, 4)) if found else ((), ())
    if found is None or any(int(h) > 23 for h in hours) or any(int(m) > 59 for m in minutes):
        env.problem(f"SMS_QUIET_HOURS must look like 21:00-07:00, got {spec!r}")
        return ""
    return spec


@dataclass(frozen=True)
class SmsSettings:
    backend: str  # console (prints; the demo), africastalking
    at_username: str
    at_api_key: str = field(repr=False)
    at_sender_id: str | None
    at_sms_url: str | None  # another API base, for staging and tests
    # Africa's Talking signs nothing: its callbacks carry this.
    callback_token: str | None = field(repr=False)
    ussd_code: str  # what reminders tell people to dial
    rate: int  # messages per second per worker process
    concurrency: int  # calls to the aggregator in flight per worker process
    quiet_hours: str  # "21:00-07:00" in the scheme's time zone; "" for none
    premium_due_days: tuple[int, ...]  # days after enrolment to remind what is still due
    cover_ending_days: tuple[int, ...]  # days before cover ends to remind
    sweep_seconds: int  # how often reminders and changes of cover are looked for
    give_up_after: int  # seconds after which an unsent message is marked expired
    inbound_per_10_minutes: int  # replies to one number; beyond, a flood is stored unanswered

    @classmethod
    def _read(cls, env: Environment) -> SmsSettings:
        backend = env.choice("SMS_BACKEND", "console", SMS_BACKENDS)
        token = env.text("AT_CALLBACK_TOKEN") or None
        if backend == "africastalking":
            missing = env.missing(("AT_USERNAME", "AT_API_KEY", "AT_CALLBACK_TOKEN"))
            if missing:
                env.problem(f"SMS_BACKEND=africastalking needs {', '.join(missing)}")
        return cls(
            backend=backend,
            at_username=env.text("AT_USERNAME"),
            at_api_key=env.text("AT_API_KEY"),
            at_sender_id=env.text("AT_SENDER_ID") or None,
            at_sms_url=env.text("AT_SMS_URL").rstrip("/") or None,
            callback_token=token,
            ussd_code=env.text("USSD_CODE", "*384*22#"),
            rate=env.whole_number("SMS_RATE", 200, 1, 10_000),
            concurrency=env.whole_number("SMS_CONCURRENCY", 8, 1, 64),
            quiet_hours=_quiet_hours(env),
            premium_due_days=env.days("SMS_PREMIUM_DUE_DAYS", "3,14"),
            cover_ending_days=env.days("SMS_COVER_ENDING_DAYS", "30,7"),
            sweep_seconds=env.whole_number("SMS_SWEEP_SECONDS", 300, 1, 86_400),
            give_up_after=env.whole_number("SMS_GIVE_UP_AFTER", 3 * 86_400, 600, 30 * 86_400),
            inbound_per_10_minutes=env.whole_number("SMS_INBOUND_LIMIT", 10, 1, 1000),
        )
