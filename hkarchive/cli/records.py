"""Records printed by every command that prints data, in the format --format asks for.

A record is a dict keyed by the archive's column names. ``table`` is for reading (each command
may lay it out its own way, else aligned columns); ``json`` is one array, ``jsonl`` one object
per line, ``csv`` a header row of the field names then a row per record (UTF-8, Chinese never
escaped; a BLOB as base64). Records are written as they come, so a long stream (an export) is
never held whole, except by the generic table, which measures its columns first.
"""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import click

from hkarchive.cli.options import printable

Record = Mapping[str, Any]
# A command's own table: the records in, the lines to print out.
TableLines = Callable[[Iterable[Record]], Iterable[str]]


class TextSink(Protocol):
    """Anything text is written to: a file opened for text, or standard output."""

    def write(self, text: str, /) -> object: ...


class _Echo:
    """Standard output through click, which tests capture and which copes with a closed pipe."""

    def write(self, text: str, /) -> None:
        click.echo(text, nl=False)


def write_records(
    records: Iterable[Record],
    output_format: str,
    fields: Sequence[str],
    *,
    table: TableLines | None = None,
    out: TextSink | None = None,
) -> int:
    """Write records in output_format (table, json, jsonl or csv) to out (default: standard
    output); returns how many were written. Only ``fields`` are written, in that order."""
    sink: TextSink = out if out is not None else _Echo()
    counted = _Counted(records)
    if output_format == "table":
        for line in (table or (lambda rows: table_lines(rows, fields)))(counted):
            sink.write(line + "\n")
    elif output_format == "json":
        _write_json(sink, (_only(record, fields) for record in counted))
    elif output_format == "jsonl":
        for record in counted:
            sink.write(json.dumps(_only(record, fields), ensure_ascii=False) + "\n")
    elif output_format == "csv":
        writer = csv.writer(sink)
        writer.writerow(fields)
        writer.writerows([_cell(record.get(name)) for name in fields] for record in counted)
    else:
        raise ValueError(f"unknown output format {output_format!r}")
    return counted.count


class _Counted:
    """An iterable of records that counts what was read from it."""

    def __init__(self, records: Iterable[Record]) -> None:
        self.records = records
        self.count = 0

    def __iter__(self) -> Iterator[Record]:
        for record in self.records:
            self.count += 1
            yield record


def _only(record: Record, fields: Sequence[str]) -> dict[str, Any]:
    return {name: _blob(record.get(name)) for name in fields}


def _blob(value: Any) -> Any:
    """Bytes (a BLOB column) as sqlite-utils writes them in JSON: base64, flagged as such."""
    if isinstance(value, bytes):
        return {"$base64": True, "encoded": base64.b64encode(value).decode("ascii")}
    return value


def _write_json(sink: TextSink, records: Iterable[dict[str, Any]]) -> None:
    """One JSON array, indented, written an element at a time."""
    separator = "[\n"
    for record in records:
        element = json.dumps(record, ensure_ascii=False, indent=2)
        sink.write(separator + "\n".join("  " + line for line in element.split("\n")))
        separator = ",\n"
    sink.write("[]\n" if separator == "[\n" else "\n]\n")


def _cell(value: Any) -> Any:
    """A CSV cell: None empty, a boolean 1 or 0 (as SQLite has it), a list or a dict as JSON,
    anything else as it is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return printable(str(value)).replace("\n", " ").replace("\t", " ")


def table_lines(records: Iterable[Record], fields: Sequence[str]) -> list[str]:
    """Aligned columns under a header of the field names, two spaces apart, numbers aligned
    right; text made safe for a terminal and kept to one line per record."""
    kept = list(records)
    right = [
        all(_is_number(r.get(name)) for r in kept if r.get(name) is not None) for name in fields
    ]
    rows = [[_text(record.get(name)) for name in fields] for record in kept]
    header = list(fields)
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    for cells in (header, *rows):
        padded = [
            cell.rjust(width) if align else cell.ljust(width)
            for cell, width, align in zip(cells, widths, right, strict=True)
        ]
        lines.append("  ".join(padded).rstrip())
    return lines


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
