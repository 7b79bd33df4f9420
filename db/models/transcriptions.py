"""Names spoken instead of typed, waiting for staff to write them down.

A member enrolled by voice is stored with empty names (`menus.parsers.name_pending`) and
one transcription per recording: the head's family name and first names are two
recordings, a dependant's whole name is one (`fields` says which columns it fills). The
worker fetches the recording from the provider into `audio`; staff listen to it on the
dashboard and type the name, which fills the member's columns and drops the audio.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from db.models.base import Base


class Transcription(Base):
    __tablename__ = "transcriptions"
    __table_args__ = (
        # The worker's claim (what is due for a fetch) and the register's hold (does a
        # household still wait for a name) both read by status.
        Index("ix_transcriptions_status_next_fetch_at", "status", "next_fetch_at"),
        Index("ix_transcriptions_household_id_status", "household_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    # db.values.TranscribedFields: last_name, first_names, or name (both, in one recording)
    fields: Mapped[str] = mapped_column(String(16))
    # Text: a provider's signed URL can run past any length we would pick.
    recording_url: Mapped[str] = mapped_column(Text)
    # db.values.TranscriptionStatus: awaiting_audio, ready, no_audio, done
    status: Mapped[str] = mapped_column(String(16))
    fetch_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_fetch_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A worker's claim on the fetch, so that two workers never fetch the same recording.
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(300))
    # Never read with the row: a list of pending names loads no sound.
    audio: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    audio_type: Mapped[str | None] = mapped_column(String(60))
    audio_size: Mapped[int | None] = mapped_column(Integer)
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    transcribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    transcribed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
