"""Slack incoming webhook: one Block Kit message per group of events.

Slack's limits are respected in `build_payload`: at most 50 blocks, header text 150
characters, section text 3000, 10 fields of 2000, context 10 elements; a group too large
for one message lists the first events and says how many more there are.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import httpx

from service.sinks.base import Message, SinkSpec, check_url, post
from service.sinks.config import SinkConfig
from service.sinks.events import AlertEvent
from service.sinks.render import headline, reasons, scored, title

MAX_BLOCKS = 50
HEADER_CHARS = 150
SECTION_CHARS = 3000
FIELD_CHARS = 2000
FALLBACK_CHARS = 3000
BLOCKS_PER_EVENT = 3  # section, context, divider
_ICON = {"critical": ":red_circle:", "warning": ":large_orange_circle:",
         "info": ":large_blue_circle:"}
_RESOLVED_ICON = ":white_check_mark:"
_LINK_NAMES = {"api": "Ranking (API)", "dashboard": "Dashboard"}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _icon(event: AlertEvent) -> str:
    return _RESOLVED_ICON if event.resolved else _ICON.get(event.severity, _ICON["info"])


def _section(event: AlertEvent, with_title: bool) -> dict[str, Any]:
    lines = [f"*{_escape(title(event))}*"] if with_title else []
    lines.append(_escape(headline(event)))
    lines += [f"• {_escape(r)}" for r in reasons(event)]
    return {"type": "section", "text": {"type": "mrkdwn",
                                        "text": _cut("\n".join(lines), SECTION_CHARS)}}


def _fields(event: AlertEvent) -> dict[str, Any] | None:
    p = event.payload
    if event.kind.family != "top_choice":
        return None
    pairs = [("Workload", p.get("workload")), ("Severity", event.severity),
             ("Was the top choice", _choice(p, "old")), ("Top choice now", _choice(p, "new"))]
    return {"type": "section", "fields": [
        {"type": "mrkdwn", "text": _cut(f"*{name}*\n{_escape(str(value))}", FIELD_CHARS)}
        for name, value in pairs]}


def _choice(p: Any, side: str) -> str:
    """'openai/gpt-4o (3.10 [2.80, 3.40], down)': the candidate, its composite and state."""
    state = p.get(f"{side}_state")
    shown = scored(p.get(f"{side}_composite"), p.get(f"{side}_interval"))
    return f"{p.get(side) or 'none'} ({shown}" + (f", {state})" if state else ")")


def _context(event: AlertEvent, links: dict[str, str]) -> dict[str, Any]:
    parts = [f"{_icon(event)} {event.severity}", event.created_at.strftime("%Y-%m-%d %H:%M UTC")]
    parts += [f"<{url}|{_LINK_NAMES.get(name, name)}>" for name, url in sorted(links.items())
              if "|" not in url and ">" not in url]
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(parts)}]}


class SlackConfig(SinkConfig):
    type: Literal["slack"]


class SlackSink:
    def __init__(self, spec: SinkSpec) -> None:
        self.spec = spec

    def validate(self) -> None:
        check_url(self.spec)

    def build_payload(self, message: Message) -> dict[str, Any]:
        events = message.events
        first = events[0]
        if len(events) == 1:
            head = f"{_icon(first)} {title(first)}"
        else:
            head = f"factorwatch: {len(events)} events"
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": _cut(head, HEADER_CHARS),
                                        "emoji": True}}]
        room = (MAX_BLOCKS - 2) // BLOCKS_PER_EVENT  # keep a block for "and N more"
        shown = events[:room] if len(events) > room else events
        for event in shown:
            blocks.append(_section(event, with_title=len(events) > 1))
            fields = _fields(event) if len(events) == 1 else None
            if fields:
                blocks.append(fields)
            blocks.append(_context(event, self.spec.links.for_event(event)))
            if len(events) > 1:
                blocks.append({"type": "divider"})
        if blocks[-1]["type"] == "divider":
            blocks.pop()
        if len(shown) < len(events):
            more = f"… and {len(events) - len(shown)} more events"
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
        fallback = "; ".join(f"{title(e)}: {headline(e)}" for e in events)
        return {"text": _cut(f"factorwatch: {fallback}", FALLBACK_CHARS), "blocks": blocks}

    async def send(self, message: Message, client: httpx.AsyncClient) -> None:
        body = json.dumps(self.build_payload(message), ensure_ascii=False).encode()
        await post(client, self.spec, body, {"content-type": "application/json"})
