"""OCSF Detection Findings (the shape of :mod:`insiderwatch.export.ocsf`) to a JSON Lines
file or a NATS subject, for data lakes and buses. Each finding is validated against the
OCSF schema before it leaves; a storm notice goes out as its latest line's finding with
the storm's sentence as the message."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from pathlib import Path
from typing import Any

from insiderwatch.export.ocsf import detection_finding, schema_errors
from insiderwatch.respond.notice import Notice
from insiderwatch.respond.sinks.base import DeliveryError, Sink, SinkConfig


def finding(notice: Notice) -> dict[str, Any]:
    out = detection_finding(notice.alert)
    if notice.kind == "storm":
        out["message"] = f"{notice.title}. {notice.text}"
    errors = schema_errors(out)
    if errors:
        raise DeliveryError(f"not a valid OCSF Detection Finding: {'; '.join(errors[:3])}")
    return out


class OcsfFileConfig(SinkConfig):
    path: Path


class OcsfFileSink(Sink):
    kind = "ocsf-file"
    description = "Appends OCSF Detection Findings to a JSON Lines file."
    Config = OcsfFileConfig

    def send(self, notice: Notice) -> None:
        line = json.dumps(finding(notice), separators=(",", ":")) + "\n"
        path = self.config.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as fh:
                fh.write(line)
        except OSError as exc:
            raise DeliveryError(f"ocsf-file {self.name}: {path}: {exc.strerror}") from None


class OcsfNatsConfig(SinkConfig):
    url: str = "nats://127.0.0.1:4222"
    subject: str = "insiderwatch.findings"


class OcsfNatsSink(Sink):
    """Publishes on a NATS subject. nats-py is asynchronous, so the sink keeps one event
    loop in a thread of its own and the connection open between notices."""

    kind = "ocsf-nats"
    description = "Publishes OCSF Detection Findings on a NATS subject."
    Config = OcsfNatsConfig

    def open(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._nc = None

    def _run(self, coro):
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(self.config.timeout_seconds * 2)

    async def _publish(self, data: bytes) -> None:
        import nats

        cfg = self.config
        if self._nc is None or not self._nc.is_connected:
            self._nc = await nats.connect(
                cfg.url, connect_timeout=cfg.timeout_seconds, allow_reconnect=False
            )
        await self._nc.publish(cfg.subject, data)
        await self._nc.flush(timeout=cfg.timeout_seconds)

    def send(self, notice: Notice) -> None:
        data = json.dumps(finding(notice), separators=(",", ":")).encode()
        try:
            self._run(self._publish(data))
        except Exception as exc:  # nats-py raises its own, asyncio and OS errors
            self._nc = None
            raise DeliveryError(f"ocsf-nats {self.name}: {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        if self._nc is not None:
            # Closing a broken connection: nothing left to save.
            with contextlib.suppress(Exception):
                self._run(self._nc.drain())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
