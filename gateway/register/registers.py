"""The central register this installation pushes to and asks, from REGISTER_ADAPTER."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.register import CentralRegister
from adapters.register.dci import DciRegister
from adapters.register.openimis import OpenImisRegister
from gateway.register.indigence import IndigenceCheck
from gateway.register.local import LocalRegister
from gateway.settings import ConfigError, RegisterSettings

if TYPE_CHECKING:
    from gateway.infrastructure import Shared


def build(
    settings: RegisterSettings, sessions: async_sessionmaker[AsyncSession]
) -> CentralRegister:
    # Settings read by Settings.from_env always carry the chosen register's own; these
    # errors are for settings put together by hand without them.
    if settings.adapter == "openimis":
        if settings.openimis is None:
            raise ConfigError("REGISTER_ADAPTER=openimis: missing openIMIS settings")
        return OpenImisRegister(settings.openimis)
    if settings.adapter == "dci":
        if settings.dci is None:
            raise ConfigError("REGISTER_ADAPTER=dci: missing DCI settings")
        return DciRegister(settings.dci)
    return LocalRegister(sessions)


def indigence_check(
    register: CentralRegister, settings: RegisterSettings, shared: Shared
) -> IndigenceCheck | None:
    """The social registry's indigence check on new households: DCI with a rule only."""
    if not isinstance(register, DciRegister) or settings.dci is None:
        return None
    if settings.dci.indigence is None:
        return None
    return IndigenceCheck(shared.sessions, register, shared.now, recorded_by="worker")


def is_remote(register: CentralRegister) -> bool:
    return getattr(register, "remote", True)
