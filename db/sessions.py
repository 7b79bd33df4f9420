"""USSD sessions in Redis: one read and one conditional write per hop.

A session is stored as `<version>|<json>` under a key that hash-tags the phone number,
beside that phone's resume snapshot, so both live in one Redis Cluster slot and a
single script can write them together. The write succeeds only if nobody else wrote
the session since we read it: two concurrent copies of a hop never both apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from db.resp import LeanRedis

# KEYS: session, resume. ARGV: expected version, new session value, session ttl,
# resume action (set|del|keep), resume value, resume ttl.
_SAVE = """
local current = redis.call('GET', KEYS[1])
local version = 0
if current then
  version = tonumber(string.match(current, '^(%d+)|'))
end
if version ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], (version + 1) .. '|' .. ARGV[2], 'EX', ARGV[3])
if ARGV[4] == 'set' then
  redis.call('SET', KEYS[2], ARGV[5], 'EX', ARGV[6])
elseif ARGV[4] == 'del' then
  redis.call('DEL', KEYS[2])
end
return 1
"""


@dataclass(frozen=True)
class Loaded:
    version: int  # 0 when the session is new
    state: str | None
    resume: str | None


class SessionStore:
    def __init__(
        self,
        redis: Redis,
        session_ttl: int,
        resume_ttl: int,
        channel: str = "ussd",
        lean: LeanRedis | None = None,
    ) -> None:
        self.redis = redis
        # The hop's two commands on the lean client when the server allows it (db/resp.py).
        self.lean = lean
        self.channel = channel  # "ussd" or "voice": a call never reads a USSD session
        self.session_ttl = session_ttl
        self.resume_ttl = resume_ttl
        self._save = redis.register_script(_SAVE)

    def keys(self, session_id: str, phone: str) -> tuple[str, str]:
        return (
            f"{self.channel}:{{{phone}}}:s:{session_id}",
            f"{self.channel}:{{{phone}}}:resume",
        )

    async def load(self, session_id: str, phone: str) -> Loaded:
        session_key, resume_key = self.keys(session_id, phone)
        if self.lean is not None:
            raw_session, raw_resume = await self.lean.call("MGET", session_key, resume_key)
        else:
            raw_session, raw_resume = await self.redis.mget(session_key, resume_key)
        resume = _text(raw_resume)
        session = _text(raw_session)
        if session is None:
            return Loaded(0, None, resume)
        version, _, state = session.partition("|")
        return Loaded(int(version), state, resume)

    async def save(
        self,
        session_id: str,
        phone: str,
        expected_version: int,
        state: str,
        resume: str | None,
        keep_resume: bool,
    ) -> bool:
        """Write the session if it is still at `expected_version`; set, clear or keep
        the phone's resume snapshot in the same step. False: somebody else won."""
        action = "keep" if keep_resume else ("set" if resume is not None else "del")
        keys = self.keys(session_id, phone)
        args: list[str | int] = [expected_version, state, self.session_ttl, action, resume or ""]
        args.append(max(self.resume_ttl, 1))
        if self.lean is None:
            return bool(await self._save(keys=keys, args=args))
        try:
            written = await self.lean.call("EVALSHA", self._save.sha, 2, *keys, *args)
        except NoScriptError:  # a restarted or flushed server: send the script itself
            written = await self.lean.call("EVAL", _SAVE, 2, *keys, *args)
        return bool(written)

    async def forget(self, session_id: str, phone: str) -> None:
        """Drop a session that has ended (its phone's resume snapshot stays)."""
        await self.redis.delete(self.keys(session_id, phone)[0])


def _text(raw: bytes | str | None) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw
