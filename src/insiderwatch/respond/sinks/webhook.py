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
    url: str, payload: Any, secret: bytes | None, timeout: float, what: str
) -> httpx2.Response:
    """POST ``payload`` as JSON, signed when there is a secret; non-2xx raises."""
    body = msgspec.json.encode(payload)
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        stamp = str(int(time.time()))
        headers[TIMESTAMP_HEADER] = stamp
        headers[SIGNATURE_HEADER] = signature(secret, stamp, body)
    try:
        response = httpx2.post(url, content=body, headers=headers, timeout=timeout)
    except httpx2.HTTPError as exc:
        raise DeliveryError(f"{what}: {type(exc).__name__}: {exc}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"{what}: HTTP {response.status_code} {response.text[:200]}")
    return response


class WebhookConfig(SinkConfig):
    url: str
    secret_env: str | None = None


class WebhookSink(Sink):
    kind = "webhook"
    description = "HMAC-SHA256-signed JSON POST of the notice."
    Config = WebhookConfig

    def open(self) -> None:
        self.secret = secret_from_env(self.config.secret_env, f"sink {self.name}")

    def send(self, notice: Notice) -> None:
        cfg = self.config
        post_json(cfg.url, notice, self.secret, cfg.timeout_seconds, f"webhook {self.name}")
