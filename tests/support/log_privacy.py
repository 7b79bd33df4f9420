"""A pytest plugin: every log record of the whole test run, formatted by the gateway's own
formatter, and the run fails if one of them carries personal data.

A handler with `MaskingFormatter` sits on the root logger at DEBUG from the start of the
session to its end, with the library levels `logs.configure` sets, so it sees what
production would write at LOG_LEVEL=DEBUG: our loggers and every library's (httpx,
httpcore, uvicorn, SQLAlchemy, alembic, urllib3 under the Africa's Talking SDK),
tracebacks and stacks included. At the end each distinct line is checked

- against the personal data of the tests: the phones (in every form people and
  aggregators write them), national IDs, names and member numbers found in the personal
  columns of the test database (`harvest`, called by the `clean` fixture before it empties
  the tables and after each test), and every +229 number written in the tests' sources
  and the demo seed (callers who are never stored). Members' names are matched word by
  word; agents' and payers' names whole, since tests name an agent "Other Agent" and
  httpx writes "303 See Other";
- against shapes, whoever's data it is: a full E.164 number, an NPI-shaped ten-digit
  number next to an identifier key, a `token=` with its value.

A finding fails the run (exit status 1) and the summary names the test and the logger
that produced the line. Nothing is allowed silently; what is not searched is said here:
names shorter than three letters (they match ordinary words), and the records of child
processes (`alafia demo` in tests/test_cli.py), whose output that test checks itself.
A test that lowers the root level (`caplog.set_level(INFO)`) hides its DEBUG records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from gateway import logs
from gateway.logs.formatter import MaskingFormatter

TESTS = Path(__file__).resolve().parent.parent
_BENIN_PHONE = re.compile(r"\+229(?:01)?\d{8}(?!\d)")
# The log line without its time: identical lines are checked once.
LINE = "%(levelname)s %(name)s: %(message)s"
MIN_NAME = 3

# Shapes that are personal whoever's they are, looked for in the masked lines.
SHAPES: dict[str, re.Pattern[str]] = {
    "full phone number": re.compile(r"(?:\+|%2B)\s?\d(?:[ .\-]?\d){7,14}(?!\d)", re.I),
    "national ID next to its key": re.compile(
        r"(?:npi|national[_ ]?id|nationalid|identifier)\W{1,6}\d{10}(?!\d)", re.I
    ),
    "token in a query or key=value": re.compile(r"token=(?!•)[^\s&\"'<>]+", re.I),
}

# The personal columns of the schema: (table, column, kind).
COLUMNS = (
    ("members", "phone", "phone"),
    ("members", "national_id", "national_id"),
    ("members", "last_name", "name"),
    ("members", "first_names", "name"),
    ("members", "member_no", "member_no"),
    ("households", "phone", "phone"),
    ("agents", "phone", "phone"),
    ("agents", "name", "full_name"),
    ("payments", "payer_phone", "phone"),
    ("payments", "payer_name", "full_name"),
    ("messages", "phone", "phone"),
    ("sms_opt_outs", "phone", "phone"),
    ("facility_phones", "phone", "phone"),
)


@dataclass(frozen=True)
class Logged:
    test: str
    logger: str
    line: str


_NUMBER = re.compile(r"\d+")
_SPACED_NUMBER = re.compile(r"\d(?:[ .\-]?\d)*")  # 01 97 00 00 12, 01.97.00.00.12
_WORD = re.compile(r"\w+")
_URL_PART = re.compile(r"\S*/\S*")  # a URL or a path, with its query string


@dataclass
class KnownPersonalData:
    """What the tests stored about people, in the forms it could take in a log line."""

    numbers: dict[str, str] = field(default_factory=dict)  # digits -> what they are
    names: dict[str, str] = field(default_factory=dict)  # a word of a name -> the name
    full_names: set[str] = field(default_factory=set)
    member_nos: set[str] = field(default_factory=set)

    def add(self, kind: str, value: str | None) -> None:
        value = (value or "").strip()
        if not value:
            return
        if kind == "phone":
            for form in phone_forms(value):
                self.numbers[form] = f"phone {value}"
        elif kind == "national_id":
            self.numbers[re.sub(r"\D", "", value)] = f"national ID {value}"
        elif kind == "member_no":
            # A member number is our reference in the logs; in a URL it names a person.
            self.member_nos.add(value)
        elif kind == "name":
            for word in _WORD.findall(value):
                if len(word) >= MIN_NAME:
                    self.names[word] = value
        elif kind == "full_name" and len(value) >= MIN_NAME:
            self.full_names.add(value)

    def findings(self, lines: Iterable[Logged]) -> Iterator[tuple[Logged, str]]:
        for logged in lines:
            yield from ((logged, what) for what in self.found_in(logged.line))

    def found_in(self, line: str) -> Iterator[str]:
        numbers = {*_NUMBER.findall(line)}
        numbers |= {re.sub(r"\D", "", run) for run in _SPACED_NUMBER.findall(line)}
        for number in sorted(numbers & self.numbers.keys()):
            yield self.numbers[number]
        for word in sorted({*_WORD.findall(line)} & self.names.keys()):
            yield f"name {self.names[word]!r} ({word})"
        for name in sorted(self.full_names):
            if name in line and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", line):
                yield f"name {name!r}"
        in_urls = {n for part in _URL_PART.findall(line) for n in _NUMBER.findall(part)}
        for number in sorted(in_urls & self.member_nos):
            yield f"member number {number} in a URL"
        for what, shape in SHAPES.items():
            if shape.search(line):
                yield what


def phone_forms(e164: str) -> set[str]:
    """+2290197000012 as people and aggregators also write it: 2290197000012,
    0197000012, and the eight digits of before 2024 (97000012)."""
    digits = re.sub(r"\D", "", e164)
    forms = {digits}
    if digits.startswith("229") and len(digits) == 13:
        national = digits[3:]
        forms |= {national, national[2:] if national.startswith("01") else national}
    return forms


class ScanningHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(MaskingFormatter(LINE))
        self.test = "(session start)"
        self.lines: dict[str, Logged] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception as error:  # a record that cannot be formatted is a finding too
            line = f"UNFORMATTABLE {record.name}: {type(error).__name__}"
        self.lines.setdefault(line, Logged(self.test, record.name, line))


@dataclass
class LogPrivacy:
    handler: ScanningHandler = field(default_factory=ScanningHandler)
    known: KnownPersonalData = field(default_factory=KnownPersonalData)
    findings: list[tuple[Logged, str]] = field(default_factory=list)

    levels: dict[str, int] = field(default_factory=dict)

    def attach(self) -> None:
        root = logging.getLogger()
        if self.handler not in root.handlers:
            root.addHandler(self.handler)
        root.setLevel(logging.DEBUG)

    def remember_levels(self) -> None:
        self.levels = {name: logger.level for name, logger in _loggers()}

    def restore_levels(self) -> None:
        """Each test starts with the levels of the session's start: a command run by an
        earlier test (`alafia dial` quiets httpx for its screens) would hide records."""
        for name, logger in _loggers():
            level = self.levels.get(name, logging.NOTSET)
            if logger.level != level:
                logger.setLevel(level)

    def detach(self) -> None:
        logging.getLogger().removeHandler(self.handler)


def _loggers() -> list[tuple[str, logging.Logger]]:
    manager = logging.Logger.manager
    return [(n, x) for n, x in list(manager.loggerDict.items()) if isinstance(x, logging.Logger)]


_PLUGIN = pytest.StashKey[LogPrivacy]()
_current: list[LogPrivacy] = []


def harvest(database_url: str) -> None:
    """Adds what the test database holds in its personal columns to what is looked for."""
    from db.engine import create_engine_sync

    if not _current:
        return
    engine = create_engine_sync(database_url)
    try:
        with engine.connect() as connection:
            for table, column, kind in COLUMNS:
                rows = connection.execute(
                    text(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL")
                )
                for (value,) in rows:
                    _current[0].known.add(kind, str(value))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def harvest_personal_data() -> Callable[[str], None]:
    """`harvest`, for the fixture that empties the test database."""
    return harvest


def remember(kind: str, value: str) -> None:
    """Adds one value (kind: phone, national_id, name, full_name, member_no) to what is
    looked for."""
    if _current:
        _current[0].known.add(kind, value)


def pytest_configure(config: pytest.Config) -> None:
    plugin = LogPrivacy()
    config.stash[_PLUGIN] = plugin
    _current[:] = [plugin]
    plugin.attach()
    logs.quiet_libraries()  # as `logs.configure` does in production
    plugin.remember_levels()
    # The product's `logs.configure` (run by `alafia` commands under test) replaces the
    # root's handlers and level: it keeps ours and DEBUG.
    original: Callable[..., Any] = logs.configure

    def configure_and_keep_scanning(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        root = logging.getLogger()
        for handler in root.handlers:  # the product's handler writes what it would have
            handler.setLevel(root.level)
        plugin.attach()

    logs.configure = configure_and_keep_scanning  # type: ignore[assignment]
    config.add_cleanup(lambda: setattr(logs, "configure", original))
    for phone in phones_in_test_data():
        plugin.known.add("phone", phone)


def phones_in_test_data() -> set[str]:
    """The Beninese numbers written in the tests and the demo seed: also those of callers
    who are never stored (a stranger dialling, an opt-out), which `harvest` cannot see."""
    from gateway import demo

    sources = [*TESTS.rglob("*.py"), Path(demo.__file__)]
    return {phone for path in sources for phone in _BENIN_PHONE.findall(path.read_text())}


def pytest_runtest_logstart(nodeid: str) -> None:
    if _current:
        _current[0].attach()
        _current[0].restore_levels()
        _current[0].handler.test = nodeid


def pytest_runtest_logfinish(nodeid: str) -> None:
    if _current:
        _current[0].handler.test = f"(after {nodeid})"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    plugin = session.config.stash.get(_PLUGIN, None)
    if plugin is None:
        return
    plugin.detach()
    plugin.findings = list(plugin.known.findings(plugin.handler.lines.values()))
    if plugin.findings:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    plugin = config.stash.get(_PLUGIN, None)
    if plugin is None:
        return
    checked = len(plugin.handler.lines)
    if not plugin.findings:
        terminalreporter.write_line(
            f"log privacy: {checked} distinct log lines checked, no personal data"
        )
        return
    terminalreporter.section("personal data in the logs", sep="=", red=True, bold=True)
    shown: set[tuple[str, str, str]] = set()
    for logged, what in plugin.findings:
        if (logged.test, logged.logger, what) in shown:
            continue  # the same leak in another line of the same test
        shown.add((logged.test, logged.logger, what))
        terminalreporter.write_line(f"{logged.test} [{logged.logger}] {what}:")
        terminalreporter.write_line(f"    {logged.line[:500]}")
    terminalreporter.write_line(
        f"log privacy: {len(plugin.findings)} finding(s) in {checked} distinct log lines"
    )
