"""Tolerant reading of the text and XML files real datasets ship.

Every reader here accepts CRLF or LF endings, trailing spaces and tabs, a missing final newline and
blank lines, and raises :class:`DatasetError` naming the file, the line and what was expected.
"""
from __future__ import annotations

import os
import re
from typing import Iterable
from xml.parsers import expat

from vreid_lite.data.records import DatasetError

_XML_ENCODING = re.compile(rb"""(<\?xml[^>]*?encoding\s*=\s*)(["'])([A-Za-z0-9._-]+)\2""")


def require_dir(path: str, what: str) -> str:
    """``path`` if it is a folder, else a DatasetError saying what the folder should hold."""
    if not os.path.isdir(path):
        raise DatasetError(f"{path}: folder missing; expected {what}")
    return path


def require_file(path: str, what: str) -> str:
    """``path`` if it is a file, else a DatasetError saying what the file should hold."""
    if not os.path.isfile(path):
        raise DatasetError(f"{path}: file missing; expected {what}")
    return path


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (Chinese releases), else Latin-1."""
    for codec in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1")


def read_lines(path: str, what: str, keep_blank: bool = False) -> list[tuple[int, str]]:
    """Lines of a text file as ``(line number, text)``, trailing whitespace removed.

    Blank lines are skipped unless ``keep_blank`` (files whose line number is itself data, as
    one line per query); numbering always counts them, so messages point at the real line.
    """
    require_file(path, what)
    with open(path, "rb") as f:
        data = f.read()
    text = decode_text(data)
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip()
        if line or keep_blank:
            out.append((number, line))
    return out


def parse_int(text: str, path: str, line: int, what: str) -> int:
    """``int(text)`` or a DatasetError naming ``path:line`` and what was expected."""
    try:
        return int(text)
    except ValueError:
        raise DatasetError(f"{path}:{line}: {text!r} is not {what}") from None


def parse_camera(text: str, path: str, line: int) -> int:
    """Camera ids as written by VeRi-776 and CityFlow (``"c026"``) or bare (``"26"``) -> 26."""
    match = re.fullmatch(r"[cC]?(\d+)", text.strip())
    if not match:
        raise DatasetError(f"{path}:{line}: camera {text!r}; expected 'c<number>' such as 'c026'")
    return int(match.group(1))


def read_id_names(path: str, what: str) -> list[str]:
    """``"<id> <name>"`` lines with ids 1..N (any order) as names indexed by ``id - 1``."""
    names: dict[int, str] = {}
    for number, line in read_lines(path, what):
        fields = line.split(None, 1)
        if len(fields) != 2:
            raise DatasetError(f"{path}:{number}: {line!r}; expected '<id> <name>'")
        ident = parse_int(fields[0], path, number, "an integer id")
        if ident in names:
            raise DatasetError(f"{path}:{number}: id {ident} given twice")
        names[ident] = fields[1].strip()
    expected = list(range(1, len(names) + 1))
    if sorted(names) != expected:
        raise DatasetError(f"{path}: ids {sorted(names)}; expected 1..{len(names)} without gaps")
    return [names[i] for i in expected]


def read_xml_elements(path: str, tag: str, what: str) -> list[tuple[int, dict[str, str]]]:
    """Attributes of every ``<tag>`` element as ``(line number, attributes)``.

    The files declare ``encoding="gb2312"`` (or another codec expat lacks): the bytes are decoded
    with the declared codec and parsed with the declaration rewritten to UTF-8.
    """
    require_file(path, what)
    with open(path, "rb") as f:
        data = f.read()
    match = _XML_ENCODING.search(data, 0, 200)
    if match:
        codec = match.group(3).decode("ascii")
        try:
            text = data.decode(codec)
        except (LookupError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{path}: cannot decode as declared encoding {codec!r} ({exc})") from None
        data = _XML_ENCODING.sub(rb"\1\2utf-8\2", text.encode("utf-8"), count=1)
    items: list[tuple[int, dict[str, str]]] = []
    parser = expat.ParserCreate()

    def start(name: str, attrs: dict[str, str]) -> None:
        if name == tag:
            items.append((parser.CurrentLineNumber, attrs))

    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise DatasetError(
            f"{path}:{exc.lineno}: malformed XML ({expat.errors.messages[exc.code]}); expected {what}"
        ) from None
    return items


def list_names(folder: str) -> set[str]:
    """File names in ``folder`` (one directory listing; no file is opened)."""
    with os.scandir(folder) as entries:
        return {e.name for e in entries}


def check_listed(names: Iterable[tuple[int, str]], folder: str, present: set[str], list_path: str) -> None:
    """Raise for the first listed ``(line, name)`` that is not a file in ``folder``."""
    for number, name in names:
        if name not in present:
            raise DatasetError(
                f"{list_path}:{number}: lists {name!r} but {os.path.join(folder, name)} does not exist"
            )


def read_image_list(list_path: str, folder: str) -> list[tuple[int, str]]:
    """A name list (one image name per line) whose every name is a file in ``folder``."""
    require_dir(folder, f"the images listed in {os.path.basename(list_path)}")
    lines = read_lines(list_path, f"one image name per line, for the images in {folder}")
    seen: dict[str, int] = {}
    for number, name in lines:
        if name in seen:
            raise DatasetError(f"{list_path}:{number}: {name!r} already listed on line {seen[name]}")
        seen[name] = number
    check_listed(lines, folder, list_names(folder), list_path)
    return lines
