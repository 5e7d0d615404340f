"""Slack- and Teams-compatible incoming-webhook messages (chat rooms people read).

Both carry the title, the one-sentence summary and the alert id, with the staff member as
the notice shows them (a pseudonym unless the route reveals staff).
"""

from __future__ import annotations

from typing import Any

from insiderwatch.respond.notice import Notice
from insiderwatch.respond.sinks.base import SinkConfig
from insiderwatch.respond.sinks.webhook import HttpSink

_EMOJI = {
    "low": ":white_circle:",
    "medium": ":large_yellow_circle:",
    "high": ":large_orange_circle:",
    "critical": ":red_circle:",
}


class ChatConfig(SinkConfig):
    url: str


def _facts(notice: Notice) -> list[tuple[str, str]]:
    alert = notice.alert
    return [
        ("Severity", notice.severity),
        ("Score", f"{alert.score:.0f}"),
        ("Staff", notice.employee),
        ("Alert", ", ".join(notice.alert_ids[:5])),
        ("Detectors", ", ".join(alert.detectors)),
        ("Evidence", f"{len(alert.event_ids):,} events, {len(alert.customer_ids):,} customers"),
    ]


def slack_message(notice: Notice) -> dict[str, Any]:
    fields = [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in _facts(notice)]
    return {
        "text": f"{_EMOJI[notice.severity]} {notice.title}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": notice.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": notice.text[:3000]}},
            {"type": "section", "fields": fields},
        ],
    }


def teams_message(notice: Notice) -> dict[str, Any]:
    """An Adaptive Card in the envelope Teams incoming webhooks and Workflows accept."""
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "size": "Medium",
                "weight": "Bolder",
                "text": notice.title,
                "wrap": True,
            },
            {"type": "TextBlock", "text": notice.text, "wrap": True},
            {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _facts(notice)]},
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


class SlackSink(HttpSink):
    kind = "slack"
    description = "Slack incoming-webhook message (text + blocks)."
    Config = ChatConfig

    def send(self, notice: Notice) -> None:
        self.post(slack_message(notice))


class TeamsSink(HttpSink):
    kind = "teams"
    description = "Microsoft Teams incoming-webhook message (Adaptive Card)."
    Config = ChatConfig

    def send(self, notice: Notice) -> None:
        self.post(teams_message(notice))
