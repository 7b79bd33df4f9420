"""What no caller can do to the scrape: grow it without limit through a label, or read
the token back from a log line; and METRICS_TOKEN as the settings read it."""

from __future__ import annotations

import pytest

from gateway.metrics import events
from gateway.metrics.state import REASONS_SHOWN, _by_reason
from gateway.settings import ConfigError, Settings


def test_sms_reasons_are_capped_and_fit_for_a_label() -> None:
    rows = [("refused", f"Reason{n}", 100 - n) for n in range(REASONS_SHOWN + 5)]
    rows += [("refused", 'Bad"reason\n{x="1"}' + "x" * 200, 1), ("undelivered", None, 2)]
    found = _by_reason(rows)
    refused = {reason: n for (status, reason), n in found.items() if status == "refused"}
    assert len(refused) == REASONS_SHOWN + 1
    # The 5 rarest named reasons and the odd one add up under "other".
    assert refused["other"] == sum(100 - n for n in range(REASONS_SHOWN, REASONS_SHOWN + 5)) + 1
    assert found[("undelivered", "unknown")] == 2
    assert all(len(reason) <= 40 and '"' not in reason for _, reason in found)


def test_a_session_status_from_outside_is_kept_to_a_fixed_list() -> None:
    before = events.session_ends.labels("other", "other")._value.get()
    events.session_ended("other", "Something<new>")
    assert events.session_ends.labels("other", "other")._value.get() == before + 1
    assert all(
        sample.labels["status"] in (*events.SESSION_STATUSES, "other")
        for family in events.EVENTS.collect()
        if family.name == "alafia_ussd_session_ends"
        for sample in family.samples
    )


def test_the_funnel_outcomes_are_the_ones_counted() -> None:
    from menus.nodes import Outcome

    assert {o.value for o in Outcome} | {events.NO_OUTCOME} == set(events.SESSION_OUTCOMES)


def test_metrics_token_is_read_kept_out_of_reprs_and_long_enough() -> None:
    token = "a-metrics-token-long-enough"
    settings = Settings.from_env({"METRICS_TOKEN": token})
    assert settings.metrics.token == token
    assert token not in repr(settings)
    assert settings.metrics.shared_directory is None
    assert not settings.metrics.open_without_token
    assert Settings.from_env({}).metrics.token is None
    with pytest.raises(ConfigError, match="METRICS_TOKEN must be at least 16"):
        Settings.from_env({"METRICS_TOKEN": "short"})


@pytest.mark.parametrize(
    ("host", "open_"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.20", False),
        ("demo.example.org", False),
    ],
)
def test_the_demo_serves_metrics_open_only_on_a_loopback_address(host: str, open_: bool) -> None:
    from gateway.programs import loopback

    assert loopback(host) is open_
