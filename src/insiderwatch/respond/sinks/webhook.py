"""Signed JSON over HTTP POST: the notice as JSON, HMAC-SHA256 over timestamp and body.

The receiver recomputes ``HMAC(secret, "<timestamp>.<body>")`` and compares it with the
``X-Insiderwatch-Signature: sha256=<hex>`` header; the timestamp in the signed text lets
it refuse replays of an old message. Any answer outside 2xx is a failed try.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import httpx2
import msgspec

from insiderwatch.respond.notice import Notice
from insiderwatch.respond.sinks.base import DeliveryError, Sink, SinkConfig, secret_from_env

SIGNATURE_HEADER = "X-Insiderwatch-Signature"
TIMESTAMP_HEADER = "X-Insiderwatch-Timestamp"


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def post_json(
    url: str,
    payload: Any,
    secret: bytes | None,
    timeout: float,
    what: str,
    client: httpx2.Client | None = None,
) -> httpx2.Response:
    """POST ``payload`` as JSON, signed when there is a secret; non-2xx raises. A sink
    passes its own ``client`` so connections (and TLS set-up) are reused."""
    body = msgspec.json.encode(payload)
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        stamp = str(int(time.time()))
        headers[TIMESTAMP_HEADER] = stamp
        headers[SIGNATURE_HEADER] = signature(secret, stamp, body)
    try:
        send = client.post if client is not None else httpx2.post
        response = send(url, content=body, headers=headers, timeout=timeout)
    except httpx2.HTTPError as exc:
        raise DeliveryError(f"{what}: {type(exc).__name__}: {exc}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"{what}: HTTP {response.status_code} {response.text[:200]}")
    return response


class WebhookConfig(SinkConfig):
    url: str
    secret_env: str | None = None


class HttpSink(Sink):
    """A sink that POSTs JSON through one HTTP client kept open between notices."""

    def open(self) -> None:
        self.client = httpx2.Client()

    def post(self, payload: Any, secret: bytes | None = None) -> None:
        cfg = self.config
        post_json(
            cfg.url, payload, secret, cfg.timeout_seconds, f"{self.kind} {self.name}", self.client
        )

    def close(self) -> None:
        self.client.close()


class WebhookSink(HttpSink):
    kind = "webhook"
    description = "HMAC-SHA256-signed JSON POST of the notice."
    Config = WebhookConfig

    def open(self) -> None:
        super().open()
        self.secret = secret_from_env(self.config.secret_env, f"sink {self.name}")

    def send(self, notice: Notice) -> None:
        self.post(notice, self.secret)
