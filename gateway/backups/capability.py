"""Backups of the database: `alafia backup FILE` and `alafia restore FILE`, which checks
after a restore that the ledger adds up. Commands only: no routes, no jobs."""

from __future__ import annotations

from gateway.backups import commands
from gateway.capability import Capability


class Backups(Capability):
    name = "backups"
    add_commands = staticmethod(commands.add_commands)
