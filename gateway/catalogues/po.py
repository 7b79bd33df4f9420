"""Translators' files in gettext PO, the format Poedit, Weblate and OmegaT read.

One entry per catalogue key: `msgctxt` is `<part>:<key>` (`screens:ask_mutual`,
`sms:enrolled`), `msgid` the French source, `msgstr` the translation, and extracted
comments (`#.`) say where the text appears and its budget in characters. An entry
marked `#, fuzzy` is a guess awaiting a translator: it counts as untranslated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass
class Entry:
    context: str
    source: str
    translation: str = ""
    notes: list[str] = field(default_factory=list)
    fuzzy: bool = False
    line: int = 0  # where it starts in the file read, for the problems found in it


def _quote(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}


def _unquote(quoted: str, line: int) -> str:
    if len(quoted) < 2 or not (quoted.startswith('"') and quoted.endswith('"')):
        raise ValueError(f"line {line}: a string in double quotes was expected")
    out, chars = [], iter(quoted[1:-1])
    for ch in chars:
        if ch == "\\":
            escaped = next(chars, "")
            if escaped not in _ESCAPES:
                raise ValueError(f"line {line}: unknown escape \\{escaped}")
            out.append(_ESCAPES[escaped])
        else:
            out.append(ch)
    return "".join(out)


def write(header: Mapping[str, str], entries: Iterable[Entry]) -> str:
    lines = ['msgid ""', 'msgstr ""']
    lines += [_quote(f"{name}: {value}\n") for name, value in header.items()]
    for entry in entries:
        lines.append("")
        lines += [f"#. {note}" for note in entry.notes]
        if entry.fuzzy:
            lines.append("#, fuzzy")
        lines += [
            f"msgctxt {_quote(entry.context)}",
            f"msgid {_quote(entry.source)}",
            f"msgstr {_quote(entry.translation)}",
        ]
    return "\n".join(lines) + "\n"


def read(text: str) -> tuple[dict[str, str], list[Entry]]:
    """The header's fields and the entries; ValueError names the line that is not PO."""
    entries: list[Entry] = []
    current: dict[str, str] = {}
    notes: list[str] = []
    fuzzy, start, last = False, 0, ""

    def close() -> None:
        nonlocal current, fuzzy, notes, last
        if current:
            if "msgid" not in current or "msgstr" not in current:
                raise ValueError(f"line {start}: an entry without msgid or msgstr")
            entries.append(
                Entry(
                    current.get("msgctxt", ""),
                    current["msgid"],
                    current["msgstr"],
                    notes,
                    fuzzy=fuzzy,
                    line=start,
                )
            )
        current, fuzzy, notes, last = {}, False, [], ""

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            if current and (not line or "msgstr" in current):
                close()  # a blank line or a comment after msgstr: the next entry's
            fuzzy = fuzzy or (line.startswith("#,") and "fuzzy" in line)
            if line.startswith("#."):
                notes.append(line[2:].strip())
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            if not last:
                raise ValueError(f"line {number}: a string outside any entry")
            current[last] += _unquote(line, number)
        elif keyword in ("msgctxt", "msgid", "msgstr"):
            starts = keyword == "msgctxt" or (keyword == "msgid" and "msgctxt" not in current)
            if starts and "msgstr" in current:
                close()
            if not current:
                start = number
            if keyword in current:
                raise ValueError(f"line {number}: {keyword} twice in one entry")
            current[keyword], last = _unquote(rest.strip(), number), keyword
        else:
            raise ValueError(f"line {number}: {keyword!r} is not PO")
    close()
    header: dict[str, str] = {}
    if entries and not entries[0].context and entries[0].source == "":
        for field_line in entries.pop(0).translation.splitlines():
            name, _, value = field_line.partition(":")
            header[name.strip()] = value.strip()
    return header, entries
