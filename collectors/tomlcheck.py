"""Strict reading of TOML files: every key typed, unknown keys rejected.

``tomllib`` keeps no positions, so :func:`locate` finds a key's line again in
the raw text, following table headers and array-of-tables indexes.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from collectors.errors import ConfigError

T = TypeVar("T")
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def load(path: Path, text: str | None = None) -> tuple[dict[str, Any], str]:
    """Parse a TOML file, turning a syntax error into a :class:`ConfigError`."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(str(path), "file not found") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(str(path), f"cannot be read: {error}") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as error:
        # Python 3.11's TOMLDecodeError carries the position only in its text.
        found = re.search(r"\(at line (\d+)", str(error))
        line = int(found.group(1)) if found else None
        if line is None and "end of document" in str(error):
            line = max(1, len(text.splitlines()))
        reason = re.sub(
            r" \(at (line \d+, column \d+|end of document)\)", "", str(error)
        )
        raise ConfigError(
            str(path), f"invalid TOML: {reason}; fix the syntax", line=line
        ) from None


def locate(text: str, table: str, key: str) -> int | None:
    """Return the 1-based line of ``key`` inside ``table`` (``a.b[2]``), if found."""
    expected_table = re.sub(r"\[\d+\]", "", table)
    expected_index = [int(n) for n in re.findall(r"\[(\d+)\]", table)]
    seen: dict[str, int] = {}
    current = ""
    current_index: list[int] = []
    header_line: int | None = None
    # A key that is itself a table, such as an unknown [section], has a header.
    own_header = f"{expected_table}.{key}" if expected_table else key
    own_header_line: int | None = None
    key_pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=") if key else None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            current = header.group(2).replace('"', "")
            if header.group(1) == "[[":
                seen[current] = seen.get(current, -1) + 1
            current_index = [seen[name] for name in _prefixes(current) if name in seen]
            if own_header_line is None and own_header in _prefixes(current):
                own_header_line = number
            if (
                current == expected_table
                and current_index == expected_index[-len(current_index) :]
            ):
                header_line = number
            continue
        matches_table = current == expected_table and (
            not expected_index or current_index[-1:] == expected_index[-1:]
        )
        if matches_table and key_pattern and key_pattern.match(line):
            return number
        if (
            not expected_table
            and not current
            and key_pattern
            and key_pattern.match(line)
        ):
            return number
    return own_header_line or header_line


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


class Table:
    """A TOML table read key by key; :meth:`done` rejects keys no reader asked for."""

    def __init__(self, data: dict[str, Any], path: str, text: str, where: str = ""):
        """Wrap ``data``, found at ``where`` (dotted, with ``[i]`` indexes)."""
        if not isinstance(data, dict):
            raise ConfigError(path, "expected a table", key=where)
        self.data = data
        self.path = path
        self.text = text
        self.where = where
        self._read: set[str] = set()

    def error(self, key: str, message: str) -> ConfigError:
        """Build a :class:`ConfigError` for ``key`` of this table."""
        full = f"{self.where}.{key}" if self.where else key
        line = locate(self.text, self.where, key)
        where = self.where
        while line is None and where:
            # An inline table ({ ... }) has no header, so point at the key
            # whose value it is, however deeply it is nested.
            where, _, name = where.rpartition(".")
            line = locate(self.text, where, re.sub(r"\[\d+\]$", "", name))
        return ConfigError(self.path, message, key=full, line=line)

    def has(self, key: str) -> bool:
        """Return whether the key is present."""
        return key in self.data

    def get(self, key: str, kind: type[T], default: T) -> T:
        """Read a scalar of the given type, or ``default`` when absent."""
        self._read.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(
                key,
                f"expected {_type_name(kind)}, got {_type_name(type(value))} {value!r}",
            )
        return value  # type: ignore[no-any-return]

    def strings(self, key: str, default: list[str] | None = None) -> list[str]:
        """Read a list of strings."""
        self._read.add(key)
        if key not in self.data:
            return list(default or [])
        value = self.data[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"expected a list of strings, got {value!r}")
        return list(value)

    def table(self, key: str) -> Table:
        """Read a sub-table (empty when absent)."""
        self._read.add(key)
        where = f"{self.where}.{key}" if self.where else key
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.error(key, f"expected a table, got {value!r}")
        return Table(value, self.path, self.text, where)

    def tables(self, key: str) -> list[Table]:
        """Read an array of tables (``[[key]]``), empty when absent."""
        self._read.add(key)
        where = f"{self.where}.{key}" if self.where else key
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(key, "expected an array of tables ([[...]])")
        return [
            Table(item, self.path, self.text, f"{where}[{i}]")
            for i, item in enumerate(value)
        ]

    def mapping(self, key: str) -> dict[str, str]:
        """Read a table of string values (tags, explicit maps)."""
        self._read.add(key)
        value = self.data.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(v, str) for v in value.values()
        ):
            raise self.error(key, "expected a table of strings")
        return dict(value)

    def skip(self, *keys: str) -> None:
        """Mark keys as read by someone else (a section another module parses)."""
        self._read.update(keys)

    def done(self) -> None:
        """Raise on the first key that no reader asked for."""
        for key in self.data:
            if key not in self._read:
                raise self.error(key, "unknown key; check its spelling or remove it")


def _type_name(kind: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }.get(kind, kind.__name__)
