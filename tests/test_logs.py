"""gateway.logs: what the gateway's log handler writes carries no personal data, whoever
logged it and however (a message, an exception's traceback, a stack, httpx's request
line, uvicorn's access line)."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway import logs
from gateway.logs.masking import REDACTED, mask
from tests.support.http_server import free_port

PHONE = "+2290197000012"
NPI = "2401234567"
MEMBER_NO = "100000016"
TOKEN = "s3cr3t-callback-token"
SURNAME = "HOUNKPE"


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """What the handler `logs.configure` installs writes, at DEBUG; the root logger is
    given back as it was."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs.configure("DEBUG")
    product = root.handlers[0]
    assert isinstance(product, logging.StreamHandler)
    # First, as alone in production: no other formatter has cached the traceback before.
    root.handlers[:] = [product, *handlers]  # pytest's and the suite's scan stay
    stream = io.StringIO()
    product.setStream(stream)
    try:
        yield stream
    finally:
        root.removeHandler(product)
        root.setLevel(level)


def _fail_with_personal_data() -> None:
    raise ValueError(f"no household for {PHONE} (npi={NPI}, last_name={SURNAME!r})")


def test_a_traceback_and_a_stack_are_masked_like_the_message(written: io.StringIO) -> None:
    try:
        _fail_with_personal_data()
    except ValueError:
        logging.getLogger("gateway.test").exception("enrolment failed", stack_info=True)
    logging.getLogger("gateway.test").warning("caller %s", PHONE, stack_info=True)
    line = written.getvalue()
    assert "Traceback (most recent call last)" in line and "Stack (most recent call last)" in line
    assert "ValueError: no household for +229 01 97 •• •• 12" in line  # enough to debug
    for personal in (PHONE, NPI, SURNAME):
        assert personal not in line


def test_the_cached_traceback_other_handlers_reuse_is_masked(written: io.StringIO) -> None:
    captured: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(record)

    keep = Keep()
    logging.getLogger().addHandler(keep)
    try:
        _fail_with_personal_data()
    except ValueError:
        logging.getLogger("gateway.test").exception("enrolment failed")
    finally:
        logging.getLogger().removeHandler(keep)
    assert captured[0].exc_text and PHONE not in captured[0].exc_text


def _serve_like_alafia(app: Starlette) -> Iterator[str]:
    """uvicorn as `alafia serve --access-log` runs it: no log config of its own, so its
    records go to the root handler."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=True)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def register_like_server() -> Iterator[str]:
    async def answer(request: Request) -> PlainTextResponse:
        return PlainTextResponse("{}")

    app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])
    yield from _serve_like_alafia(app)


def test_httpx_and_uvicorn_lines_keep_the_keys_but_not_the_values(
    written: io.StringIO, register_like_server: str
) -> None:
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.DEBUG  # as configured
    with httpx.Client() as client:
        client.get(
            f"{register_like_server}/api_fhir_r4/Patient/",
            params={"identifier": f"urn:member|{MEMBER_NO}", "phoneNumber": PHONE},
        )
        client.post(f"{register_like_server}/sms/inbound?token={TOKEN}")
        client.get(f"{register_like_server}/api/v1/eligibility/{MEMBER_NO}")
    line = written.getvalue()
    assert "HTTP Request: GET" in line and "uvicorn.access" in line  # both were written
    assert f"Patient/?identifier={REDACTED}&phoneNumber={REDACTED}" in line
    assert f"/sms/inbound?token={REDACTED}" in line
    assert "/api/v1/eligibility/•••••••16" in line
    for personal in (MEMBER_NO, TOKEN, PHONE, PHONE[1:], "%2B229"):
        assert personal not in line


@pytest.mark.parametrize(
    ("logged", "written"),
    [
        ("opened by +2290197000012", "opened by +229 01 97 •• •• 12"),
        ("opened by +229 01 97 00 00 12", "opened by +229 01 97 •• •• 12"),
        ("old form +22997000012", "old form +229 97 •• •• 12"),
        ("from=%2B2290197000012", f"from={REDACTED}"),
        ("aggregator wrote 2290197000012", "aggregator wrote +229 01 97 •• •• 12"),
        ("typed 0197000012 or 01 97 00 00 12", "typed 01 97 •• •• 12 or 01 97 •• •• 12"),
        ("national ID 2401234567", "national ID ••••••••67"),
        (
            "PersonDraft(last_name='ASSOGBA', first_names='Rose Ayaba', national_id=None)",
            f"PersonDraft(last_name='{REDACTED}', first_names='{REDACTED}', "
            f"national_id={REDACTED})",
        ),
        (
            '{"name": [{"family": "ASSOGBA", "given": ["Rose"]}], "gender": "female"}',
            f'{{"name": [{{"family": "{REDACTED}", "given": [{REDACTED}]}}], "gender": "female"}}',
        ),
        (
            "'payer_name': 'Yao DOSSA', 'amount': 3150",
            f"'payer_name': '{REDACTED}', 'amount': 3150",
        ),
        ("Authorization: Bearer abcdefghijkl", f"Authorization: {REDACTED}"),
        ("redis://:hunter2@redis:6379/0", f"redis://:{REDACTED}@redis:6379/0"),
        ("pin=1234 and password=x", f"pin={REDACTED} and password={REDACTED}"),
    ],
)
def test_personal_data_and_secrets_are_masked(logged: str, written: str) -> None:
    assert mask(logged) == written
    assert mask(written) == written  # masking twice (a cached traceback) changes nothing


@pytest.mark.parametrize(
    "kept",
    [
        "2026-12-03 01:21:07,123 INFO gateway.worker: worker started",
        "payment 5f0c2d9e-1b7a-4c1e-9a51-0e6f2b8c7d41 opened: 3150 XOF by momo",
        "member 100000016 enrolled",  # our own reference, outside a URL
        "household 42 enrolled in MS-PARAKOU: 3 persons, 3150 XOF due",
        "USSD hop took 12 ms; is Redis there?",
    ],
)
def test_what_helps_debugging_is_kept(kept: str) -> None:
    assert mask(kept) == kept


# -- the scan of the whole suite's logs (tests/support/log_privacy.py) -------------------

LEAKY_SUITE = """
import logging
from tests.support import log_privacy

def test_clean():
    log_privacy.remember("phone", "+2290197000012")
    logging.getLogger("gateway.fine").info("caller +2290197000012")  # masked

def test_leaks():
    log_privacy.remember("phone", "+2290197000012")
    log_privacy.remember("name", "HOUNKPE Ayaba")
    logging.getLogger("gateway.leaky").debug("sms to 97000012 for the head HOUNKPE")
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A small suite of its own, run in a child pytest with the scan as its plugin."""
    pytester.makeconftest('pytest_plugins = ("tests.support.log_privacy",)\n')
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
    return pytester


def _run(inner: pytest.Pytester, source: str) -> pytest.RunResult:
    inner.makepyfile(test_inner=source)
    return inner.runpytest_subprocess("-p", "no:cacheprovider")


def test_the_scan_fails_a_run_whose_logs_carry_personal_data(inner: pytest.Pytester) -> None:
    result = _run(inner, LEAKY_SUITE)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*personal data in the logs*",
            "test_inner.py::test_leaks [[]gateway.leaky[]] phone +2290197000012:",
            "*DEBUG gateway.leaky: sms to 97000012 for the head HOUNKPE",
            "test_inner.py::test_leaks [[]gateway.leaky[]] name 'HOUNKPE Ayaba' (HOUNKPE):",
        ]
    )
    result.assert_outcomes(passed=2)  # every test passed: the logs failed the run
    assert "test_clean [" not in result.stdout.str()


def test_the_scan_passes_a_run_whose_logs_are_masked(inner: pytest.Pytester) -> None:
    result = _run(inner, LEAKY_SUITE.split("def test_leaks")[0])
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["log privacy: * distinct log lines checked, no personal data"])


def test_records_follow_stderr_after_the_stream_they_started_with_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A CLI command configures logging while a test runner captures stderr; the capture is
    closed afterwards, and the next record must still be written, not a logging error."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    first, later = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    logs.configure("INFO")
    try:
        first.close()
        monkeypatch.setattr("sys.stderr", later)
        logging.getLogger("gateway.test").info("household %s enrolled", 7)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert "household 7 enrolled" in later.getvalue()
