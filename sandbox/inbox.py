"""The customer's phone and inbox: every text and email the sandbox accepted, as the customer would see them.

`GET /inbox` shows them grouped per phone number or email address (newest first, with delivery status),
with a form to text the business back as a customer. `GET /inbox.json` lists the same entries newest
first (`?to=` and `?channel=` narrow it) for tests and demos. `GET /` leads here.
"""

import html
import re
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from sandbox.context import SandboxContext


def entries(context: SandboxContext, to: str | None = None, channel: str | None = None) -> list[dict]:
    """Outbound and inbound messages, newest first, as JSON-ready dicts."""
    tagged = [(e, "outbound") for e in context.outbox] + [(e, "inbound") for e in context.inbound]
    # Stable on ties: of two entries made in the same instant, the later-recorded one comes first.
    ordered = sorted(enumerate(tagged), key=lambda pair: (pair[1][0].at, pair[0]), reverse=True)
    found = []
    for _, (entry, direction) in ordered:
        if to is not None and _address(entry.to) != _address(to):
            continue
        if channel is not None and entry.channel != channel:
            continue
        found.append(
            {
                "channel": entry.channel,
                "direction": direction,
                "to": entry.to,
                "from": entry.sender,
                "subject": entry.subject,
                "body": entry.body,
                "status": entry.status,
                "provider_id": entry.provider_id,
                "attachments": entry.attachments if entry.channel == "email" else [],
                "at": entry.at.isoformat(),
            }
        )
    return found


def _address(value: str) -> str:
    # An unencoded "+" in `?to=+1512…` arrives as a space: compare numbers without it.
    return value.strip().lstrip("+").lower()


# --- the page --------------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;background:#eef1f5;margin:0;color:#1d2433}
header{background:#1d2433;color:#fff;padding:1rem 1.5rem}header h1{margin:0;font-size:1.2rem}
header p{margin:.25rem 0 0;color:#b8c0d0;font-size:.9rem}main{max-width:60rem;margin:0 auto;padding:1rem}
section{background:#fff;border-radius:10px;margin:1rem 0;padding:1rem 1.25rem;box-shadow:0 1px 4px #0001}
h2{font-size:1rem;margin:0 0 .75rem}h2 a{color:inherit}.msg{border-top:1px solid #e5e8ee;padding:.6rem 0}
.meta{font-size:.8rem;color:#6b7385}.body{white-space:pre-wrap;margin:.3rem 0 0;overflow-wrap:anywhere}
.in{border-left:3px solid #8b5cf6;padding-left:.6rem}.subject{font-weight:600}
.status{font-size:.75rem;padding:.05rem .45rem;border-radius:9px;background:#e5e8ee}
.delivered,.received{background:#dcfce7;color:#166534}.sent,.queued,.accepted{background:#fef9c3;color:#854d0e}
.undelivered,.failed,.bounced{background:#fee2e2;color:#991b1b}
form{display:flex;gap:.5rem;flex-wrap:wrap;align-items:flex-end}
input{padding:.45rem;border:1px solid #c9cfdb;border-radius:6px;box-sizing:border-box}
input[name=body]{width:100%}
label{display:flex;flex-direction:column;font-size:.8rem;color:#4b5563;gap:.2rem}
label.message{flex:1;min-width:12rem}
button{padding:.45rem 1rem;border:0;border-radius:6px;background:#2563eb;color:#fff;cursor:pointer}
.empty{color:#6b7385}
"""


def _linkify(text: str) -> str:
    """Escaped text with its links clickable: a texted payment link should open the pay page."""
    parts = re.split(r"(https?://[^\s<>\"']+)", text)  # odd items are the links
    return "".join(
        f'<a href="{html.escape(part)}">{html.escape(part)}</a>' if i % 2 else html.escape(part)
        for i, part in enumerate(parts)
    )


def _message_html(entry: dict) -> str:
    e = {k: html.escape(str(v)) for k, v in entry.items() if isinstance(v, str)}
    arrow = f"from {e['from']}" if entry["direction"] == "inbound" else f"to {e['to']} from {e['from']}"
    subject = f'<div class="subject">{e["subject"]}</div>' if entry.get("subject") else ""
    files = "".join(f" · attached: {html.escape(name)}" for name in entry["attachments"])
    kind = "Email" if entry["channel"] == "email" else "Text"  # words, not emoji: no font needed
    return (
        f'<div class="msg{" in" if entry["direction"] == "inbound" else ""}">'
        f'<div class="meta"><b>{kind}</b> {e["at"][:19].replace("T", " ")} UTC · {arrow} · '
        f'<span class="status {e["status"]}">{e["status"]}</span> · {e["provider_id"]}{files}</div>'
        f'{subject}<div class="body">{_linkify(entry["body"])}</div></div>'
    )


def _page(context: SandboxContext, to: str | None) -> str:
    found = entries(context, to=to)
    groups: dict[str, list[dict]] = {}
    for entry in found:  # newest first, so groups come in order of their newest message
        who = entry["from"] if entry["direction"] == "inbound" else entry["to"]
        groups.setdefault(who, []).append(entry)
    sections = "".join(
        f'<section><h2><a href="/inbox?to={quote(who)}">{html.escape(who)}</a></h2>'
        f"{''.join(_message_html(e) for e in messages)}</section>"
        for who, messages in groups.items()
    )
    texts = [e for e in found if e["channel"] == "sms"]
    # Until something was texted, default to the demo company's number and one of its customers.
    customer = next((e["to"] for e in texts if e["direction"] == "outbound"), "+15125550120")
    business = next((e["from"] for e in texts if e["direction"] == "outbound"), "+15125550100")
    shown = (
        f" · showing {html.escape(to)} · <a href='/inbox' style='color:#93c5fd'>show all</a>" if to else ""
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandbox inbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head><body>
<header><h1>The customer's phone and inbox</h1>
<p>Every text and email the sandbox accepted, newest first{shown} ·
<a href="" style="color:#93c5fd">refresh</a> ·
<a href="/quickbooks/app" style="color:#93c5fd">QuickBooks (the bookkeeper's view)</a></p>
</header><main>
<section><h2>Text the business as a customer</h2>
<form method="post" action="/inbound-sms">
<label>From (customer) <input name="from" value="{html.escape(customer)}" size="14"></label>
<label>To (business) <input name="to" value="{html.escape(business)}" size="14"></label>
<label class="message">Message <input name="body" placeholder="e.g. STOP, START, or a question"></label>
<button type="submit">Send text</button></form></section>
{sections or '<section class="empty">Nothing sent yet.</section>'}
</main></body></html>"""


def router(context: SandboxContext) -> APIRouter:
    pages = APIRouter(tags=["inbox"])

    @pages.get("/", include_in_schema=False)
    async def home():
        return RedirectResponse("/inbox", 307)

    @pages.get("/inbox", response_class=HTMLResponse)
    async def inbox(to: str | None = None):
        return HTMLResponse(_page(context, to))

    @pages.get("/inbox.json")
    async def inbox_json(to: str | None = None, channel: str | None = None):
        return entries(context, to=to, channel=channel)

    return pages
