"""`alafia` commands of this part (filled in by its own change)."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """Add this part's subcommands to the `alafia` parser."""
