"""Syslog (RFC 5424) carrying ArcSight CEF, over UDP or TCP, for SIEMs.

TCP messages are newline-terminated (RFC 6587 non-transparent framing, what rsyslog and
syslog-ng accept by default); CEF escaping guarantees a message has no newline of its own.
"""

from __future__ import annotations

import datetime as dt
import socket
from importlib.metadata import version
from typing import Literal

from insiderwatch.respond.notice import Notice
from insiderwatch.respond.sinks.base import DeliveryError, Sink, SinkConfig

CEF_SEVERITY = {"low": 3, "medium": 5, "high": 8, "critical": 10}
SYSLOG_SEVERITY = {"low": 5, "medium": 4, "high": 3, "critical": 2}  # notice .. crit
AUTHPRIV = 10


def _header(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _ext(value: str) -> str:
    return value.replace("\\", "\\\\").replace("=", "\\=").replace("\r", "\\r").replace("\n", "\\n")


def _ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


def cef_line(notice: Notice) -> str:
    """The CEF record of a notice (no syslog header)."""
    alert = notice.alert
    signature = alert.detectors[0] if alert.detectors else "alert"
    ext = {
        "rt": str(_ms(alert.detected_at)),
        "start": str(_ms(alert.first_seen)),
        "end": str(_ms(alert.last_seen)),
        "suser": notice.employee,
        "cs1Label": "alertId",
        "cs1": alert.alert_id,
        "cs2Label": "detectors",
        "cs2": ",".join(alert.detectors),
        "cn1Label": "score",
        "cn1": str(round(alert.score)),
        "cn2Label": "revision",
        "cn2": str(alert.revision),
        "cnt": str(notice.folded or 1),
        "msg": notice.text[:2000],
    }
    fields = " ".join(f"{k}={_ext(v)}" for k, v in ext.items())
    head = "|".join(
        _header(v)
        for v in (
            "CEF:0",
            "insiderwatch",
            "insiderwatch",
            version("insiderwatch"),
            f"{signature}:{notice.kind}",
            notice.title[:512],
            str(CEF_SEVERITY[notice.severity]),
        )
    )
    return f"{head}|{fields}"


def syslog_message(notice: Notice, hostname: str, facility: int = AUTHPRIV) -> bytes:
    pri = facility * 8 + SYSLOG_SEVERITY[notice.severity]
    stamp = notice.alert.detected_at.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    stamp = stamp.replace("+00:00", "Z")
    return f"<{pri}>1 {stamp} {hostname} insiderwatch - alert - {cef_line(notice)}".encode()


class CefConfig(SinkConfig):
    host: str = "127.0.0.1"
    port: int = 514
    protocol: Literal["udp", "tcp"] = "udp"
    facility: int = AUTHPRIV


class CefSink(Sink):
    kind = "cef"
    description = "Syslog (RFC 5424) with a CEF record, over UDP or TCP."
    Config = CefConfig

    def open(self) -> None:
        self.hostname = socket.gethostname() or "-"

    def send(self, notice: Notice) -> None:
        cfg = self.config
        data = syslog_message(notice, self.hostname, cfg.facility)
        try:
            if cfg.protocol == "udp":
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.sendto(data[:65000], (cfg.host, cfg.port))
            else:
                with socket.create_connection((cfg.host, cfg.port), cfg.timeout_seconds) as sock:
                    sock.sendall(data + b"\n")
        except OSError as exc:
            raise DeliveryError(
                f"cef {self.name}: {cfg.protocol} {cfg.host}:{cfg.port}: {exc}"
            ) from None
