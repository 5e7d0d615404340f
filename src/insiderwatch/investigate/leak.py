"""Read a list of customer details found outside, and turn it into keyed hashes.

A leaked list arrives as it was found: CSV (any common delimiter) or JSON Lines, maybe
gzipped, with headers such as ``E-Mail`` or ``Mobile``, values written every which way and
junk rows mixed in. Each value is normalised exactly as ingest normalises customers
(:mod:`insiderwatch.privacy`) and hashed with the deployment key at once; the raw values
never leave this module, are never logged and never stored. Junk rows are counted by
reason and located (file, row, field) without their content.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from insiderwatch.errors import InsiderwatchError, Location, UnreadableFileError
from insiderwatch.privacy import HashKey, normalize_email, normalize_phone

# Header names seen in the wild, compared after folding case and dropping spaces, dots,
# dashes and underscores ("E-Mail Address" -> "emailaddress").
ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "mail", "emailaddress", "mailaddress", "emails"),
    "phone": ("phone", "telephone", "tel", "mobile", "mobilephone", "cell", "cellphone",
              "phonenumber", "mobilenumber", "telephonenumber", "msisdn", "number"),
    "name": ("name", "fullname", "customer", "customername", "contact", "contactname"),
    "surname": ("surname", "lastname", "familyname"),
    "postcode": ("postcode", "postalcode", "zip", "zipcode", "postcodezip", "post"),
    "customer_id": ("customerid", "customerno", "customernumber", "clientid", "accountid",
                    "accountnumber", "id"),
}  # fmt: skip
SUFFIXES = (".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json")
# How many junk rows are located one by one in the report; the rest are only counted.
MAX_PROBLEMS = 20
# What is kept of a row: hashes, the surname and postcode (stored in clear for customers
# too) for rows with neither email nor phone, and a customer id (an internal key, not a
# contact detail: a list of ids is an export from inside).
_STORED = ("email_hash", "phone_hash", "surname", "postcode", "customer_id")
# A customer id in a plain list: one token of letters, digits and - _ . : (no spaces).
_ID_LIKE = re.compile(r"[\w.:-]{1,64}")


@dataclass
class LeakReading:
    """What reading a leak found: hashed rows plus counts of everything else."""

    file: str
    rows: pa.Table  # row_no, email_hash, phone_hash, surname, postcode (no raw contact data)
    rows_read: int = 0
    duplicates: int = 0  # rows identical (after normalisation) to an earlier row
    junk: Counter = field(default_factory=Counter)  # field:reason -> rows
    problems: list[tuple[Location, str]] = field(default_factory=list)  # first few junk rows

    @property
    def junk_rows(self) -> int:
        return sum(self.junk.values())


def _header_key(name: str) -> str:
    return re.sub(r"[\s._\-]", "", unicodedata.normalize("NFKC", name)).casefold()


def column_kinds(header: list[str]) -> dict[str, int]:
    """Which column holds which kind of detail (first match wins); empty when none."""
    lookup = {alias: kind for kind, names in ALIASES.items() for alias in names}
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        kind = lookup.get(_header_key(name))
        if kind and kind not in found:
            found[kind] = index
    return found


# --- cleaning what spreadsheets and mail clients do to values ----------------------------

_ANGLE_ADDRESS = re.compile(r"<([^<>\s]+@[^<>\s]+)>")


def clean_email(raw: str | None) -> str | None:
    """``"Jo Smith" <jo@x.org>`` -> ``jo@x.org``, then the ingest normaliser."""
    if raw is None:
        return None
    match = _ANGLE_ADDRESS.search(raw)
    return normalize_email(match.group(1) if match else raw)


def clean_phone(raw: str | None, region: str) -> str | None:
    """Undo spreadsheet damage (``'07700..``, ``7700900123.0``), then the ingest normaliser."""
    if raw is None:
        return None
    value = unicodedata.normalize("NFKC", str(raw)).strip().lstrip("'")
    if value.lower().startswith("tel:"):
        value = value[4:]
    if re.fullmatch(r"\+?\d+\.0+", value):
        value = value.split(".", 1)[0]
    return normalize_phone(value, region)


def surname_key(name: str | None) -> str | None:
    """The last word of a name, folded, for matching against stored surnames."""
    words = re.findall(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", unicodedata.normalize("NFKC", name or ""))
    return words[-1].replace("’", "'").casefold() if words else None


def postcode_key(postcode: str | None) -> str | None:
    value = re.sub(r"\s+", "", unicodedata.normalize("NFKC", postcode or "")).upper()
    return value or None


# --- reading -----------------------------------------------------------------------------


def _open_text(raw: io.BufferedIOBase, gzipped: bool) -> io.TextIOBase:
    if gzipped:
        raw = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
    head = raw.read(4)
    raw.seek(0)
    # Lists found outside are often Windows exports: a BOM or Latin-1 bytes.
    encoding = "utf-8-sig" if head.startswith(b"\xef\xbb\xbf") else "utf-8"
    return io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")


def _format(name: str) -> str:
    path = Path(name)
    suffix = path.suffixes[-2] if path.suffix == ".gz" and len(path.suffixes) > 1 else path.suffix
    if suffix.lower() not in SUFFIXES:
        raise UnreadableFileError(
            f"unknown leak file type {suffix or '(none)'}: use one of {', '.join(SUFFIXES)}",
            Location(file=name),
        )
    if suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "text" if suffix.lower() == ".txt" else "csv"


def _csv_records(
    name: str, fh: io.TextIOBase, values_without_header: bool, region: str
) -> Iterator[tuple[int, dict[str, str | None]]]:
    sample = fh.read(64 << 10)
    fh.seek(0)
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(fh, dialect)
    header = next(reader, None)
    kinds = column_kinds(header or [])
    if not kinds and values_without_header and header is not None:
        # A plain text list: one email or phone per line, no header.
        fh.seek(0)
        yield from _value_records(fh, region)
        return
    if not kinds:
        # The header is not echoed: in a file without one it is a customer's details.
        raise UnreadableFileError(
            f"no email, phone, name, postcode or customer id column among {len(header or [])} header "
            f"column(s); the first row must name them (e.g. email,phone)",
            Location(file=name, row=1),
        )
    for row_no, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        yield row_no, {k: cells[i] if i < len(cells) else None for k, i in kinds.items()}


def _value_records(fh: io.TextIOBase, region: str) -> Iterator[tuple[int, dict[str, str | None]]]:
    """Each non-empty line one value: an email when it holds an @, else a phone number,
    else a customer id when it is one token."""
    for row_no, line in enumerate(fh, start=1):
        value = line.strip()
        if not value:
            continue
        if "@" in value or clean_phone(value, region) or not _ID_LIKE.fullmatch(value):
            yield row_no, {"email" if "@" in value else "phone": value}
        else:
            yield row_no, {"customer_id": value}


def _jsonl_records(fh: io.TextIOBase) -> Iterator[tuple[int, dict[str, str | None]]]:
    for row_no, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            yield row_no, {"_error": "line:malformed_json"}
            continue
        if not isinstance(obj, dict):
            yield row_no, {"_error": "line:not_an_object"}
            continue
        kinds = column_kinds(list(obj))
        names = list(obj)
        yield row_no, {k: _text(obj[names[i]]) for k, i in kinds.items()}


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def read_leak(path: Path, key: HashKey, phone_region: str = "GB") -> LeakReading:
    """Read, normalise and hash a leaked list; junk rows are counted, never fatal."""
    if not path.is_file():
        raise UnreadableFileError("leak file not found", Location(file=str(path)))
    fmt = _format(str(path))
    try:
        with path.open("rb") as raw:
            return _read(str(path), raw, fmt, key, phone_region)
    except OSError as exc:
        raise UnreadableFileError(f"cannot read: {exc}", Location(file=str(path))) from None


def read_leak_upload(name: str, data: bytes, key: HashKey, phone_region: str = "GB") -> LeakReading:
    """Read a list handed over in memory (an upload, pasted text): the same reading as
    :func:`read_leak`, and the bytes are never written anywhere. ``name`` (the file's
    name as uploaded) picks the format; pasted text is named ``*.txt``."""
    return _read(name, io.BytesIO(data), _format(name), key, phone_region)


def _read(
    name: str, raw: io.BufferedIOBase, fmt: str, key: HashKey, phone_region: str
) -> LeakReading:
    reading = LeakReading(file=name, rows=pa.table({}))
    columns: dict[str, list] = {n: [] for n in ("row_no", *_STORED)}
    seen: set[tuple] = set()
    try:
        with _open_text(raw, name.endswith(".gz")) as fh:
            records = (
                _jsonl_records(fh)
                if fmt == "jsonl"
                else _csv_records(name, fh, fmt == "text", phone_region)
            )
            for row_no, record in records:
                reading.rows_read += 1
                cleaned = _clean(record, key, phone_region)
                if isinstance(cleaned, str):
                    _note_junk(reading, name, row_no, cleaned)
                    continue
                if cleaned in seen:
                    reading.duplicates += 1
                    continue
                seen.add(cleaned)
                columns["row_no"].append(row_no)
                for column, value in zip(_STORED, cleaned, strict=True):
                    columns[column].append(value)
    except (OSError, EOFError, csv.Error) as exc:
        raise UnreadableFileError(f"cannot read: {exc}", Location(file=name)) from None
    reading.rows = pa.table(
        {column: pa.array(values, pa.int64() if column == "row_no" else pa.string())
         for column, values in columns.items()}
    )  # fmt: skip
    return reading


def _clean(record: dict[str, str | None], key: HashKey, region: str) -> tuple | str:
    """(email_hash, phone_hash, surname, postcode, customer_id), or the field:reason why
    the row is junk."""
    if "_error" in record:
        return str(record["_error"])
    email_raw, phone_raw = _blank(record.get("email")), _blank(record.get("phone"))
    email = clean_email(email_raw)
    phone = clean_phone(phone_raw, region)
    surname = surname_key(record.get("surname") or record.get("name"))
    postcode = postcode_key(record.get("postcode"))
    customer = (record.get("customer_id") or "").strip() or None
    if email or phone or (surname and postcode) or customer:
        return (
            key.digest("email", email),
            key.digest("phone", phone),
            surname,
            postcode,
            customer,
        )
    if email_raw:
        return "email:not_an_email"
    if phone_raw:
        return "phone:not_a_phone"
    if surname or postcode:
        return "name:needs_name_and_postcode"
    return "row:no_contact_details"


def _blank(value: str | None) -> str | None:
    return value if value is not None and value.strip() else None


def _note_junk(reading: LeakReading, name: str, row_no: int, reason: str) -> None:
    reading.junk[reason] += 1
    if len(reading.problems) < MAX_PROBLEMS:
        where, why = reason.split(":", 1)
        reading.problems.append((Location(file=name, row=row_no, field=where), why))


def check_readable(reading: LeakReading) -> None:
    """A file with rows but not one usable is almost certainly the wrong file."""
    if reading.rows_read and not reading.rows.num_rows:
        top = ", ".join(f"{r} ({n})" for r, n in reading.junk.most_common(3))
        raise InsiderwatchError(
            f"none of {reading.rows_read} rows holds a usable email, phone, customer id or "
            f"name with postcode: {top}",
            Location(file=reading.file),
        )
