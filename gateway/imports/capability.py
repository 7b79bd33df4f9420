"""Bulk imports from spreadsheets: `alafia import households FILE.csv --mutual CODE`."""

from __future__ import annotations

from gateway.capability import Capability
from gateway.imports import commands


class Imports(Capability):
    name = "imports"
    add_commands = staticmethod(commands.add_commands)
