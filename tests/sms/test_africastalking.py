"""Africa's Talking SMS sender (official SDK), against a local peer over real HTTP."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs

import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.sms.africastalking import AfricasTalkingSender
from adapters.sms.base import OutgoingSms, SendOutcome, SendResult
from adapters.sms.console import ConsoleSender
from tests.peers.at_sms import AtSmsPeer
from tests.support.http_server import free_port, serve

PHONE = "+2290197123456"
OTHERS = ("+2290166000001", "+2290166000002", "+2290166000003")
TEXT = "Alafia: votre cotisation de 1500 F est enregistrée. Merci."


@pytest.fixture
def peer() -> AtSmsPeer:
    return AtSmsPeer()


@pytest.fixture
def base_url(peer: AtSmsPeer) -> Iterator[str]:
    with serve(peer.app) as url:
        yield url
        peer.release()  # let hanging handlers end before the server stops


def make_sender(
    peer: AtSmsPeer, base_url: str, timeout: tuple[float, float] = (3.05, 10.0)
) -> AfricasTalkingSender:
    return AfricasTalkingSender(
        peer.username, peer.api_key, "ALAFIA", base_url=base_url + "/", timeout=timeout
    )


@pytest.fixture
async def sender(peer: AtSmsPeer, base_url: str) -> AsyncIterator[AfricasTalkingSender]:
    sender = make_sender(peer, base_url)
    yield sender
    await sender.aclose()


def by_phone(results: object) -> dict[str, SendResult]:
    assert isinstance(results, list | tuple)
    return {r.phone: r for r in results}


async def test_one_number_accepted(sender: AfricasTalkingSender, peer: AtSmsPeer) -> None:
    [result] = await sender.send(OutgoingSms(TEXT, (PHONE,)))

    assert result.outcome is SendOutcome.ACCEPTED
    [sent] = peer.sent()
    assert (sent.number, sent.text, sent.sender_id) == (PHONE, TEXT, "ALAFIA")
    assert result.provider_id == sent.message_id and sent.message_id.startswith("ATXid_")
    assert result.cost == "XOF 25.0000" and result.reason is None
    [call] = peer.recorded_calls()
    assert call.headers["apikey"] == peer.api_key
    assert call.form["username"] == peer.username
    assert call.form["from"] == "ALAFIA"
    assert call.form["to"] == PHONE


async def test_several_numbers_mixed_outcomes(
    sender: AfricasTalkingSender, peer: AtSmsPeer
) -> None:
    blacklisted, invalid, failing = OTHERS
    peer.refuse(blacklisted, 406, "UserInBlacklist")
    peer.refuse(invalid, 403, "InvalidPhoneNumber")
    peer.fail_number(failing, 500, "InternalServerError")
    phones = (PHONE, blacklisted, invalid, failing)

    results = await sender.send(OutgoingSms(TEXT, phones))

    assert [r.phone for r in results] == list(phones)  # in the order asked
    got = by_phone(results)
    assert got[PHONE].outcome is SendOutcome.ACCEPTED
    assert got[blacklisted] == SendResult(
        blacklisted, SendOutcome.REFUSED, reason="UserInBlacklist"
    )
    assert got[invalid] == SendResult(invalid, SendOutcome.REFUSED, reason="InvalidPhoneNumber")
    assert got[failing] == SendResult(failing, SendOutcome.RETRY, reason="InternalServerError")
    [call] = peer.recorded_calls()  # one call for all of them
    assert call.form["to"].split(",") == list(phones)
    assert [m.number for m in peer.sent()] == [PHONE]

    # The 500 was for one call only: the retry goes through, once.
    [again] = await sender.send(OutgoingSms(TEXT, (failing,)))
    assert again.outcome is SendOutcome.ACCEPTED
    assert len(peer.sent_to(failing)) == 1


async def test_number_too_short_for_at_is_refused_by_at(
    sender: AfricasTalkingSender, peer: AtSmsPeer
) -> None:
    # Passes the SDK's check, not AT's: AT answers 403 for it.
    [result] = await sender.send(OutgoingSms(TEXT, ("+2291234",)))
    assert result == SendResult("+2291234", SendOutcome.REFUSED, reason="InvalidPhoneNumber")


async def test_bad_numbers_refused_without_a_call(
    sender: AfricasTalkingSender, peer: AtSmsPeer
) -> None:
    bad = ("0197123456", "+229 01 97", "+22901971234\n", "+229٠١٩٧١٢٣٤٥٦", "+22,90197")

    results = await sender.send(OutgoingSms(TEXT, bad))

    assert [r.outcome for r in results] == [SendOutcome.REFUSED] * len(bad)
    assert {r.reason for r in results} == {"InvalidPhoneNumber"}
    assert peer.recorded_calls() == []


async def test_bad_number_does_not_stop_the_good_ones(
    sender: AfricasTalkingSender, peer: AtSmsPeer
) -> None:
    results = by_phone(await sender.send(OutgoingSms(TEXT, ("not-a-number", PHONE))))

    assert results["not-a-number"].outcome is SendOutcome.REFUSED
    assert results[PHONE].outcome is SendOutcome.ACCEPTED
    [call] = peer.recorded_calls()
    assert call.form["to"] == PHONE


async def test_whole_call_500_is_retry_for_all(
    sender: AfricasTalkingSender, peer: AtSmsPeer
) -> None:
    peer.fail_next("messaging", 500)

    results = await sender.send(OutgoingSms(TEXT, (PHONE, *OTHERS)))

    assert {r.outcome for r in results} == {SendOutcome.RETRY}
    assert {r.reason for r in results} == {"http_error: Internal Server Error"}
    assert peer.sent() == []


async def test_answer_lost_after_sending_is_retry(
    sender: AfricasTalkingSender, peer: AtSmsPeer
) -> None:
    # AT sent it, then the answer failed: we cannot know, so RETRY (at-least-once).
    peer.fail_next("messaging", 502, after=True)

    [result] = await sender.send(OutgoingSms(TEXT, (PHONE,)))

    assert result.outcome is SendOutcome.RETRY
    assert result.reason is not None and result.reason.startswith("http_error: ")
    assert len(peer.sent_to(PHONE)) == 1


async def test_wrong_api_key_is_retry_with_the_body(peer: AtSmsPeer, base_url: str) -> None:
    sender = AfricasTalkingSender(peer.username, "wrong-key", None, base_url=base_url)
    try:
        [result] = await sender.send(OutgoingSms(TEXT, (PHONE,)))
    finally:
        await sender.aclose()

    assert result.outcome is SendOutcome.RETRY
    assert result.reason == "http_error: The supplied authentication is invalid"
    [call] = peer.recorded_calls()
    assert "from" not in call.form  # no sender id: AT's default


async def test_hung_call_is_retry_timeout(peer: AtSmsPeer, base_url: str) -> None:
    sender = make_sender(peer, base_url, timeout=(0.5, 0.5))
    peer.hang_next("messaging")
    started = time.monotonic()
    try:
        results = await sender.send(OutgoingSms(TEXT, (PHONE, OTHERS[0])))
    finally:
        peer.release()
        await sender.aclose()

    assert time.monotonic() - started < 3
    assert {(r.outcome, r.reason) for r in results} == {(SendOutcome.RETRY, "timeout")}


async def test_unreachable_server_is_retry() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    sender = AfricasTalkingSender("alafia-test", "key", "ALAFIA", base_url=url, timeout=(1, 1))
    try:
        results = await sender.send(OutgoingSms(TEXT, (PHONE, OTHERS[0])))
    finally:
        await sender.aclose()

    assert {(r.outcome, r.reason) for r in results} == {(SendOutcome.RETRY, "unreachable")}


async def test_json_answer_with_text_content_type_is_parsed(
    sender: AfricasTalkingSender, peer: AtSmsPeer
) -> None:
    peer.answer_content_type = "text/plain; charset=utf-8"

    [result] = await sender.send(OutgoingSms(TEXT, (PHONE,)))

    assert result.outcome is SendOutcome.ACCEPTED
    assert result.provider_id == peer.sent_to(PHONE)[0].message_id


async def test_json_content_type_with_charset_is_parsed(
    sender: AfricasTalkingSender, peer: AtSmsPeer
) -> None:
    # The SDK decodes only an exact "application/json"; this one reaches us as text.
    peer.answer_content_type = "application/json; charset=utf-8"

    [result] = await sender.send(OutgoingSms(TEXT, (PHONE,)))

    assert result.outcome is SendOutcome.ACCEPTED


async def test_unregistered_sender_id_leaves_numbers_unanswered() -> None:
    peer = AtSmsPeer(sender_ids=frozenset({"MUTUELLE"}))
    with serve(peer.app) as url:
        sender = make_sender(peer, url)  # sends from "ALAFIA"
        try:
            results = await sender.send(OutgoingSms(TEXT, (PHONE, OTHERS[0])))
        finally:
            await sender.aclose()

    assert {(r.outcome, r.reason) for r in results} == {(SendOutcome.RETRY, "no_answer")}
    assert peer.sent() == []


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", b"<html>Bad gateway</html>"),
        ("application/json", b"{not json"),  # the SDK's own res.json() fails
        ("application/json", b'{"SMSMessageData": {"Message": "Sent to 0/1"}}'),
        ("application/json", b'["SMSMessageData"]'),
    ],
)
async def test_unreadable_answer_is_retry_bad_answer(content_type: str, body: bytes) -> None:
    async def messaging(request: Request) -> Response:
        return Response(body, status_code=201, headers={"content-type": content_type})

    app = Starlette(routes=[Route("/version1/messaging", messaging, methods=["POST"])])
    with serve(app) as url:
        sender = AfricasTalkingSender("alafia-test", "key", "ALAFIA", base_url=url)
        try:
            [result] = await sender.send(OutgoingSms(TEXT, (PHONE,)))
        finally:
            await sender.aclose()

    assert (result.outcome, result.reason) == (SendOutcome.RETRY, "bad_answer")


async def test_ucs2_text_arrives_intact(sender: AfricasTalkingSender, peer: AtSmsPeer) -> None:
    text = "Ɔ ✓ Kúdíɛ ɖò xwé mɛ"

    [result] = await sender.send(OutgoingSms(text, (PHONE,)))

    assert result.outcome is SendOutcome.ACCEPTED
    assert peer.sent_to(PHONE)[0].text == text
    [call] = peer.recorded_calls()
    assert call.form["message"] == text


async def test_long_text_costs_per_segment(sender: AfricasTalkingSender, peer: AtSmsPeer) -> None:
    [result] = await sender.send(OutgoingSms("x" * 161, (PHONE,)))

    assert result.cost == "XOF 50.0000"  # two GSM-7 parts


async def test_concurrent_sends_each_arrive_once(peer: AtSmsPeer, base_url: str) -> None:
    sender = AfricasTalkingSender(
        peer.username, peer.api_key, "ALAFIA", base_url=base_url, concurrency=4
    )
    phones = [f"+22901970000{i:02d}" for i in range(20)]
    try:
        batches = await asyncio.gather(
            *(sender.send(OutgoingSms(f"msg {p}", (p,))) for p in phones)
        )
    finally:
        await sender.aclose()

    assert all(r.outcome is SendOutcome.ACCEPTED for batch in batches for r in batch)
    assert sorted(m.number for m in peer.sent()) == sorted(phones)
    assert all(m.text == f"msg {m.number}" for m in peer.sent())


async def test_send_after_close_is_an_error(peer: AtSmsPeer, base_url: str) -> None:
    sender = make_sender(peer, base_url)
    await sender.aclose()
    await sender.aclose()  # idempotent
    with pytest.raises(RuntimeError):
        await sender.send(OutgoingSms(TEXT, (PHONE,)))


async def test_repr_hides_the_api_key(peer: AtSmsPeer, base_url: str) -> None:
    sender = make_sender(peer, base_url)
    try:
        assert peer.api_key not in repr(sender)
    finally:
        await sender.aclose()


def test_peer_form_is_what_the_sdk_sends(peer: AtSmsPeer, base_url: str) -> None:
    """The peer reads the form the way AT does: one field per name, comma-joined numbers."""
    response = requests.post(
        base_url + "/version1/messaging",
        headers={"apiKey": peer.api_key, "Accept": "application/json"},
        data={"username": peer.username, "to": f"{PHONE},{OTHERS[0]}", "message": "hi"},
        timeout=5,
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    recipients = response.json()["SMSMessageData"]["Recipients"]
    assert [r["number"] for r in recipients] == [PHONE, OTHERS[0]]
    assert parse_qs(response.request.body)["to"] == [f"{PHONE},{OTHERS[0]}"]


# -- console sender ---------------------------------------------------------------------------


async def test_console_prints_masked_phone_and_text() -> None:
    out = io.StringIO()
    sender = ConsoleSender(out, segments=lambda text: 1)

    results = await sender.send(OutgoingSms(TEXT, (PHONE, OTHERS[0])))
    await sender.aclose()

    printed = out.getvalue()
    assert PHONE not in printed and OTHERS[0] not in printed
    assert "--- SMS to +229********56 (1 segment) ---\n" + TEXT in printed
    assert printed.count(TEXT) == 2
    assert [r.outcome for r in results] == [SendOutcome.ACCEPTED] * 2
    ids = [r.provider_id or "" for r in results]
    assert all(i.startswith("console-") and len(i) == len("console-") + 32 for i in ids)
    assert len(set(ids)) == 2


async def test_console_defaults_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    await ConsoleSender().send(OutgoingSms("Bonjour", (PHONE,)))

    printed = capsys.readouterr().out
    assert "Bonjour" in printed and "segment" not in printed
