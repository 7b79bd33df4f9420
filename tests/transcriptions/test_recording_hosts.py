"""VOICE_RECORDING_HOSTS: the only hosts the worker fetches recordings from; a URL or a
wildcard where a host name belongs stops the start-up, as every wrong setting does."""

from __future__ import annotations

import pytest

from gateway.settings import ConfigError, Settings


def test_hosts_and_their_subdomains_only() -> None:
    hosts = Settings.from_env(
        {"VOICE_RECORDING_HOSTS": " Media.Voice.test., 127.0.0.1 ,"}
    ).recordings
    assert hosts.hosts == ("media.voice.test", "127.0.0.1")
    assert hosts.allows("media.voice.test") and hosts.allows("eu.MEDIA.voice.test")
    assert hosts.allows("127.0.0.1")
    assert not hosts.allows("voice.test")
    assert not hosts.allows("evilmedia.voice.test")
    assert not hosts.allows("media.voice.test.evil.example")
    assert not Settings.from_env({}).recordings.allows("media.voice.test")


@pytest.mark.parametrize("wrong", ["https://media.voice.test/", "*.voice.test", "host:8080"])
def test_an_address_is_not_a_host_name(wrong: str) -> None:
    with pytest.raises(ConfigError, match="VOICE_RECORDING_HOSTS must be host names"):
        Settings.from_env({"VOICE_RECORDING_HOSTS": wrong})
