"""How the audit log names who acted: `agent:12`, `staff:7`, `cli:<user>`, `import`.

Plain functions with no database import, so that the CLI can name its user while it
builds its parser (it imports SQLAlchemy only for the commands that need it)."""

from __future__ import annotations

import getpass
import os


def agent_actor(agent_id: int) -> str:
    return f"agent:{agent_id}"


def staff_actor(staff_id: int) -> str:
    return f"staff:{staff_id}"


def cli_actor() -> str:
    """Who ran a command: the operating-system user."""
    try:
        return f"cli:{os.environ.get('USER') or getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid-{os.getuid()}"
