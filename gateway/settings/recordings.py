"""The recordings section of the settings: where the worker may fetch the names callers
said on the voice line.

A recording's address comes from the voice callback, which a caller's keypad and the
network stand between: the worker fetches only from the hosts named in
`VOICE_RECORDING_HOSTS` (the provider's media hosts), never an address anywhere, so that
a forged answer cannot make the gateway read its own network. Unset, no recording is
fetched: each waits, flagged for staff, and the log says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.settings.environment import Environment


@dataclass(frozen=True)
class RecordingSettings:
    # Host names, lower case; `example.com` also allows `media.example.com`.
    hosts: tuple[str, ...]

    @classmethod
    def _read(cls, env: Environment) -> RecordingSettings:
        hosts = []
        for part in (p.strip().lower() for p in env.text("VOICE_RECORDING_HOSTS").split(",")):
            if not part:
                continue
            if any(ch in part for ch in "/:@* "):
                env.problem(
                    "VOICE_RECORDING_HOSTS must be host names like media.example.com, "
                    f"separated by commas, got {part!r}"
                )
                continue
            hosts.append(part.strip("."))
        return cls(hosts=tuple(hosts))

    def allows(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == allowed or host.endswith("." + allowed) for allowed in self.hosts)
