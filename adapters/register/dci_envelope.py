"""The DCI message envelope, ``{signature, header, message}``, and its signature.

Every DCI (spdci.org) registry request and answer is wrapped so::

    {"signature": "Signature: namespace=\\"dci\\", kidId=\\"alafia.gateway|k1|ed25519\\", ...",
     "header": {"version": "1.0.0", "message_id": "9b1c...", "message_ts": "2026-11-23T09:40:00Z",
                "action": "search", "sender_id": "alafia.gateway", "receiver_id": "social.registry",
                "total_count": 1, "is_msg_encrypted": false},
     "message": {"transaction_id": "T-0001", "search_request": [...]}}

The standard calls the signature "the signature of {header}+{message}, verified with the
sender's public signing key" and shows it in the HTTP-signature form the Beckn protocol uses:
``namespace``, ``kidId="{sender_id}|{key_id}|{algorithm}"``, ``algorithm="ed25519"``,
``created``, ``expires``, ``headers="(created) (expires) digest"``, ``signature``. It does not
say how header and message are serialised before the digest. We follow Beckn: the signed text is

    (created): <created>
    (expires): <expires>
    digest: BLAKE-512=<base64 of BLAKE2b-512 of the body>

with the body the JSON object ``{"header": ..., "message": ...}`` written with sorted keys, no
spaces, UTF-8. A registry that serialises otherwise will refuse the signature: agree this with
its operator (see docs/integrations/dci.md). The signature is optional in the standard's schema;
without a signing key the envelope goes without one.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

VERSION = "1.0.0"


class EnvelopeSigner(Protocol):
    def sign(self, header: Mapping[str, Any], message: Mapping[str, Any]) -> str: ...


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> str:
    """An ISO 8601 timestamp in UTC, as the standard writes them."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def header(
    action: str,
    *,
    sender_id: str,
    receiver_id: str,
    status: str | None = None,
    total_count: int = 1,
) -> dict[str, Any]:
    """A fresh request header; message_id is per delivery attempt, unlike transaction_id.

    ``total_count`` is the number of requests the message carries (one search, or the
    beneficiaries of one enrolment update). ``status`` is for the endpoints the standard gives
    a callback header (``MsgCallbackHeader_V1.0.0``, where it is required): the enrolment
    updates.
    """
    head: dict[str, Any] = {
        "version": VERSION,
        "message_id": new_id(),
        "message_ts": now(),
        "action": action,
        "sender_id": sender_id,
        "receiver_id": receiver_id,
        "total_count": total_count,
        "is_msg_encrypted": False,
    }
    if status is not None:
        head["status"] = status
    return head


def envelope(
    header: Mapping[str, Any], message: Mapping[str, Any], signer: EnvelopeSigner | None
) -> dict[str, Any]:
    wrapped: dict[str, Any] = {"header": dict(header), "message": dict(message)}
    if signer is not None:
        wrapped["signature"] = signer.sign(header, message)
    return wrapped


def signed_body(header: Mapping[str, Any], message: Mapping[str, Any]) -> bytes:
    """The bytes the digest covers (see the module docstring)."""
    body = {"header": header, "message": message}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signing_text(created: int, expires: int, body: bytes) -> bytes:
    digest = base64.b64encode(hashlib.blake2b(body, digest_size=64).digest()).decode()
    return f"(created): {created}\n(expires): {expires}\ndigest: BLAKE-512={digest}".encode()


class Ed25519Signer:
    """Signs envelopes with the gateway's Ed25519 key, registered with the registry operator."""

    def __init__(
        self,
        private_key: str,
        *,
        sender_id: str,
        key_id: str,
        lifetime_seconds: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        seed = base64.b64decode(private_key, validate=True)
        if len(seed) == 64:  # libsodium-style keys carry the public half after the seed
            seed = seed[:32]
        if len(seed) != 32:
            raise ValueError("DCI_SIGNING_KEY must be a base64 Ed25519 private key (32 bytes)")
        try:
            # Imported here so that a deployment that does not sign needs no cryptography.
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        except ImportError as exc:
            raise RuntimeError(
                "DCI_SIGNING_KEY is set: install the 'cryptography' package"
            ) from exc
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self._key_id = f"{sender_id}|{key_id}|ed25519"
        self._lifetime = lifetime_seconds
        self._clock = clock

    def sign(self, header: Mapping[str, Any], message: Mapping[str, Any]) -> str:
        created = int(self._clock())
        expires = created + self._lifetime
        text = signing_text(created, expires, signed_body(header, message))
        signature = base64.b64encode(self._key.sign(text)).decode()
        return (
            f'Signature: namespace="dci", kidId="{self._key_id}", algorithm="ed25519", '
            f'created="{created}", expires="{expires}", headers="(created) (expires) digest", '
            f'signature="{signature}"'
        )
