"""A collector request body into JSON lines, or a clear refusal.

Accepted: NDJSON (``application/x-ndjson``, ``application/jsonl``, ``text/plain``) or one
JSON array of objects (``application/json``), optionally gzip-compressed
(``Content-Encoding: gzip``), in UTF-8. The size limit holds before and after
decompression, so a small gzip bomb is refused as soon as it grows past it. Lines that are
not valid records are not refused here: they become dead letters, like bad rows of a file.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import msgspec

NDJSON = {"application/x-ndjson", "application/jsonl", "application/json-lines", "text/plain"}
JSON = {"application/json"}


@dataclass(frozen=True)
class BodyError(Exception):
    """Why a request body is refused, with the HTTP status that says so."""

    status: int
    detail: str

    def __str__(self) -> str:
        return self.detail


def media_type(content_type: str | None) -> tuple[str, str | None]:
    """(type, charset) of a Content-Type header; NDJSON when absent."""
    if not content_type:
        return "application/x-ndjson", None
    kind, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset":
            charset = value.strip().strip('"').lower()
    return kind.strip().lower(), charset


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress at most ``limit`` bytes; more is refused (413), a broken stream is 400."""
    inflater = zlib.decompressobj(wbits=31)  # gzip header and trailer
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise BodyError(400, f"body is not valid gzip: {exc}") from None
    if len(out) > limit:
        raise BodyError(413, f"body is larger than {limit} bytes once decompressed")
    if not inflater.eof:
        raise BodyError(400, "body is not valid gzip: the stream is truncated")
    return out


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BodyError(
            400, f"body is not valid UTF-8: line {line}, byte {exc.start} (send UTF-8)"
        ) from None


def _array_lines(text: str) -> list[str]:
    try:
        items = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise BodyError(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(items, list):
        raise BodyError(400, "a JSON body must be an array of records (or send NDJSON)")
    # Each element becomes one line; one that is not an object becomes a dead letter.
    return [msgspec.json.encode(item).decode() for item in items]


def body_lines(
    data: bytes, content_type: str | None, content_encoding: str | None, limit: int
) -> list[str]:
    """The records of a request body, one JSON document per line, in order."""
    if len(data) > limit:
        raise BodyError(413, f"body is larger than max_request_bytes ({limit} bytes)")
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        data = gunzip(data, limit)
    elif encoding != "identity":
        raise BodyError(415, f"unsupported Content-Encoding {encoding!r}: send gzip or none")
    kind, charset = media_type(content_type)
    if charset not in (None, "utf-8", "utf8"):
        raise BodyError(415, f"unsupported charset {charset!r}: send UTF-8")
    text = _decode(data)
    if kind in JSON:
        return _array_lines(text)
    if kind in NDJSON:
        # A trailing newline ends the last line; it does not start an empty record.
        return text.removesuffix("\n").split("\n") if text else []
    raise BodyError(
        415, f"unsupported Content-Type {kind!r}: send application/x-ndjson or application/json"
    )
