"""The central register this installation pushes to and asks, from REGISTER_ADAPTER."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.register import CentralRegister
from gateway.register.local import LocalRegister
from gateway.settings import ConfigError

REGISTERS = ("local", "openimis", "dci")


def build(
    name: str, env: Mapping[str, str], sessions: async_sessionmaker[AsyncSession]
) -> CentralRegister:
    try:
        if name == "openimis":
            from adapters.register.openimis import OpenImisRegister, OpenImisSettings

            return OpenImisRegister(OpenImisSettings.from_env(env))
        if name == "dci":
            from adapters.register.dci import DciRegister, DciSettings

            return DciRegister(DciSettings.from_env(env))
    except ValueError as error:
        raise ConfigError(f"REGISTER_ADAPTER={name}: {error}") from None
    return LocalRegister(sessions)


def is_remote(register: CentralRegister) -> bool:
    return getattr(register, "remote", True)
