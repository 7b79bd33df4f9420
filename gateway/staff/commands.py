"""`alafia staff ...`: dashboard accounts, from the server's shell.

alafia staff add --email E --role R [--scope CODE] [--password P]
alafia staff list
alafia staff disable --email E
alafia staff reset-password --email E [--password P]
alafia staff unlock --email E

A password left off the command line is asked for twice (getpass), so that it stays out
of the shell's history. Bad input says what is wrong and exits with 2.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from gateway.actors import cli_actor
from gateway.commands import CommandGroup, Context
from gateway.staff.scope import ROLES

T = TypeVar("T")


def add_commands(commands: CommandGroup[Any]) -> None:
    """Add this part's subcommands to the `alafia` parser."""
    staff = commands.add_parser("staff", help="dashboard accounts: add, list, disable, unlock")
    actions = staff.add_subparsers(title="staff commands")

    add = actions.add_parser("add", help="a new dashboard account")
    add.add_argument("--email", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--scope", help="the unit's code: a mutual for a manager; none for the whole scheme"
    )
    add.add_argument("--password", help="asked for when left out (safer: not in the history)")
    add.set_defaults(run=_add)

    listing = actions.add_parser("list", help="every account, its role, scope and state")
    listing.set_defaults(run=_list)

    disable = actions.add_parser("disable", help="stop an account from logging in, at once")
    disable.add_argument("--email", required=True)
    disable.set_defaults(run=_disable)

    reset = actions.add_parser("reset-password", help="a new password (also lifts a lock)")
    reset.add_argument("--email", required=True)
    reset.add_argument("--password", help="asked for when left out")
    reset.set_defaults(run=_reset_password)

    unlock = actions.add_parser("unlock", help="lift a lock after too many wrong passwords")
    unlock.add_argument("--email", required=True)
    unlock.set_defaults(run=_unlock)


def _password(given: str | None) -> str | None:
    if given is not None:
        return given
    first = getpass.getpass("Password (at least 10 characters): ")
    if getpass.getpass("Same password again: ") != first:
        print("the two passwords differ; nothing changed", file=sys.stderr)
        return None
    return first


def _run(context: Context, work: Callable[[Any], Awaitable[T]]) -> T:
    """One piece of account work on an engine of its own, with the command's clock; with
    the shared Redis where REDIS_URL is set, so that an unlock also lifts the locks per
    address (`login_limits`). The demo's embedded Redis is the serving process's own."""
    from db.redis import connect
    from gateway.limits.rates import Limits, RateLimiter
    from gateway.staff.accounts import StaffAccounts
    from gateway.staff.login_limits import LoginLimits

    settings = context.settings

    async def with_redis(sessions: Any) -> T:
        if settings.redis_url is None:
            return await work(StaffAccounts(sessions, context.now))
        redis = connect(settings.redis_url, 2, settings.redis_timeout)
        try:
            logins = LoginLimits(Limits(RateLimiter(redis, context.now), settings.limits))
            return await work(StaffAccounts(sessions, context.now, logins))
        finally:
            await redis.aclose()

    return context.with_sessions(with_redis)


def _checked(context: Context, work: Callable[[Any], Awaitable[Any]], done: str) -> int:
    from gateway.staff.account_rules import StaffAccountError

    try:
        _run(context, work)
    except StaffAccountError as error:
        print(f"nothing changed: {error}", file=sys.stderr)
        return 2
    print(done)
    return 0


def _add(context: Context, args: argparse.Namespace) -> int:
    password = _password(args.password)
    if password is None:
        return 2
    return _checked(
        context,
        lambda accounts: accounts.add(args.email, args.role, args.scope, password, cli_actor()),
        f"added {args.email.strip().lower()} ({args.role}"
        + (f" of {args.scope})" if args.scope else ", whole scheme)"),
    )


def _list(context: Context, args: argparse.Namespace) -> int:
    from db.engine import as_aware

    accounts = _run(context, lambda accounts: accounts.list())
    now = context.now()
    if not accounts:
        print("no staff accounts yet: alafia staff add --email ... --role ...")
    for account in accounts:
        if account.disabled_at is not None:
            state = "disabled"
        elif account.locked_until is not None and as_aware(account.locked_until, now) > now:
            state = f"locked until {account.locked_until:%Y-%m-%d %H:%M}"
        elif account.password_code_until is not None:
            # Given a one-time code from the dashboard, and no password set with it yet;
            # in the scheme's time (PostgreSQL hands it back in the connection's zone).
            until = as_aware(account.password_code_until, now).astimezone(now.tzinfo)
            state = f"password code until {until:%Y-%m-%d %H:%M}"
        else:
            state = "active"
        last = f"{account.last_login_at:%Y-%m-%d %H:%M}" if account.last_login_at else "never"
        print(
            f"{account.email:<40} {account.role:<15} {account.scope_code or '(all)':<14} "
            f"{state:<28} last login {last}"
        )
    return 0


def _disable(context: Context, args: argparse.Namespace) -> int:
    return _checked(context, lambda accounts: accounts.disable(args.email, cli_actor()), "disabled")


def _reset_password(context: Context, args: argparse.Namespace) -> int:
    password = _password(args.password)
    if password is None:
        return 2
    return _checked(
        context,
        lambda accounts: accounts.reset_password(args.email, password, cli_actor()),
        "password changed",
    )


def _unlock(context: Context, args: argparse.Namespace) -> int:
    return _checked(context, lambda accounts: accounts.unlock(args.email, cli_actor()), "unlocked")
