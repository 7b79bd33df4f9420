"""The SMS sender this installation uses, from SMS_BACKEND."""

from __future__ import annotations

from adapters.sms import SmsSender
from adapters.sms.africastalking import AfricasTalkingSender
from adapters.sms.console import ConsoleSender
from gateway.settings import SmsSettings
from menus.gsm import segments


def build(settings: SmsSettings) -> SmsSender:
    if settings.backend == "africastalking":
        return AfricasTalkingSender(
            settings.at_username,
            settings.at_api_key,
            settings.at_sender_id,
            base_url=settings.at_sms_url,
            concurrency=settings.concurrency,
        )
    return ConsoleSender(segments=segments)
