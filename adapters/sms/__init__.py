"""SMS senders: Africa's Talking (through its official SDK) and a console printer."""

from adapters.sms.base import OutgoingSms, SendOutcome, SendResult, SmsSender

__all__ = ["OutgoingSms", "SendOutcome", "SendResult", "SmsSender"]
