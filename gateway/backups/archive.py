"""The backup file: a zip holding `manifest.json` (what the backup is) and the database
itself, a SQLite file or a PostgreSQL custom-format dump.

The manifest says which database made it, its schema revision, when, with what figures
(households, payments, the money credited), and the payload's SHA-256, so that a restore
refuses a file of the other kind, of a schema this code does not know, or damaged, before
it touches the database. `unzip -l` and `unzip -p FILE manifest.json` show it by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

FORMAT = "alafia-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE, POSTGRESQL = "sqlite", "postgresql"
PAYLOAD_NAMES = {SQLITE: "database.sqlite3", POSTGRESQL: "database.pgdump"}
KIND_NAMES = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}
# How other files start, to say what a foreign file is rather than only what it is not.
FOREIGN_MAGIC = {
    b"PGDMP": "a pg_dump archive made outside Alafia (restore it with pg_restore)",
    b"SQLite format 3\x00": "a bare SQLite database file, not an Alafia backup",
}
CHUNK = 1 << 20


class BackupFileError(ValueError):
    """The file cannot be restored: not a backup, damaged, or of another kind."""


@dataclass(frozen=True)
class Manifest:
    database: str  # SQLITE or POSTGRESQL
    schema_revision: str  # alembic_version when it was taken
    created_at: str  # ISO 8601, the scheme's clock
    figures: dict[str, int]  # households, persons, payments, messages, credited...
    payload: str  # the member holding the database
    sha256: str
    size: int
    server_version: str  # PostgreSQL's server_version, or SQLite's library version
    tool_version: str = ""  # the pg_dump that wrote the payload (PostgreSQL)
    alafia_version: str = ""
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.database, self.database)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write(target: Path, manifest: Manifest, payload: Path) -> None:
    """Write the backup to `target.partial`, then rename it: a crash or a full disk never
    leaves a file under the final name that looks like a backup and is not one. Readable by
    its owner only: it holds names, phone numbers and national IDs."""
    partial = target.with_name(target.name + ".partial")
    # A custom-format dump is compressed already; a SQLite file compresses well.
    compression = zipfile.ZIP_STORED if manifest.database == POSTGRESQL else zipfile.ZIP_DEFLATED
    partial.unlink(missing_ok=True)
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as raw:
            with zipfile.ZipFile(raw, "w", allowZip64=True) as archive:
                archive.writestr(MANIFEST, json.dumps(asdict(manifest), indent=2, sort_keys=True))
                archive.write(payload, manifest.payload, compress_type=compression)
            raw.flush()
            os.fsync(raw.fileno())
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def read_manifest(path: Path) -> Manifest:
    """The manifest of a backup file; BackupFileError says what the file is instead."""
    try:
        with path.open("rb") as source:
            start = source.read(16)
    except OSError as error:
        raise BackupFileError(f"{path} cannot be read: {error.strerror or error}") from None
    for magic, what in FOREIGN_MAGIC.items():
        if start.startswith(magic):
            raise BackupFileError(f"{path} is {what}")
    try:
        with zipfile.ZipFile(path) as archive:
            raw = archive.read(MANIFEST)
    except (zipfile.BadZipFile, KeyError):
        raise BackupFileError(f"{path} is not an Alafia backup (made by `alafia backup`)") from None
    try:
        fields = json.loads(raw)
        if fields.get("format") != FORMAT:
            raise BackupFileError(f"{path} is not an Alafia backup: its manifest is another's")
        if fields.get("format_version") != FORMAT_VERSION:
            raise BackupFileError(
                f"{path} is an Alafia backup of format {fields.get('format_version')}; "
                f"this Alafia reads format {FORMAT_VERSION}: restore it with the version "
                "that made it"
            )
        manifest = Manifest(**fields)
    except (ValueError, TypeError) as error:
        if isinstance(error, BackupFileError):
            raise
        raise BackupFileError(f"{path} has a damaged manifest: {error}") from None
    if manifest.database not in PAYLOAD_NAMES:
        raise BackupFileError(f"{path} is a backup of an unknown database {manifest.database!r}")
    return manifest


def extract(path: Path, manifest: Manifest, into: Path) -> Path:
    """The payload copied to `into`, checked against the manifest's SHA-256."""
    target = into / manifest.payload
    digest = hashlib.sha256()
    try:
        with (
            zipfile.ZipFile(path) as archive,
            archive.open(manifest.payload) as source,
            target.open("wb") as copy,
        ):
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                copy.write(chunk)
    except (zipfile.BadZipFile, KeyError, OSError) as error:
        raise BackupFileError(f"{path} is damaged: {error}") from None
    if digest.hexdigest() != manifest.sha256:
        raise BackupFileError(
            f"{path} is damaged: its database does not match the checksum it was written with"
        )
    return target
