"""The bookkeeper's side of the sandbox companies, for tests and demos (not QuickBooks' API, not gated):

- `GET /quickbooks/_companies`: every sandbox company `{realm_id, name, counts}`
- `GET /quickbooks/_companies/{realm_id}/{entity}`: its customers / items / invoices / payments, as the API
  shows them, by Id
- `POST /quickbooks/_companies/{realm_id}/{entity}` with a QuickBooks JSON body: create one, as the
  bookkeeper would in QuickBooks (a refusal answers 400 with QuickBooks' Fault)
- `POST /quickbooks/_companies/{realm_id}/{entity}/{id}` with some fields: edit the latest version (the
  SyncToken moves on, so an app holding the old one meets the Stale Object Error)
- `POST /quickbooks/_companies/{realm_id}/invoice/{id}/payment` with `{"amount": 12.5}` (JSON or a form;
  no amount: the whole balance): record the customer's payment against that invoice
- `POST /quickbooks/_tokens/expire` with `{"realm_id": …}` (optional): end live access tokens now
- `GET /quickbooks/app`: a page listing each company's records, with a "record payment" form per open invoice
"""

import html
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from sandbox.quickbooks.rules import voided
from sandbox.quickbooks.service import QuickBooksSandbox
from sandbox.quickbooks.store import ENTITIES, Company
from sandbox.quickbooks.wire import Fault, amount, business_rule, money

ENTITY_PATHS = {entity.lower(): entity for entity in ENTITIES}


def _attempt(work: Callable[[], dict]) -> Response:
    try:
        return JSONResponse(work())
    except Fault as refused:
        return refused.response()


def record_payment(company: Company, invoice_id: str, paid: float | str | None) -> dict:
    """A Payment from the invoice's customer for `paid` (default: the balance), applied to the invoice."""
    invoice = company.get("Invoice", invoice_id)
    value = amount(invoice["Balance"] if paid in (None, "") else paid)
    if value <= 0:
        raise business_rule("You must set a transaction amount.")
    line = {"Amount": money(value), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
    payment = {
        "CustomerRef": {"value": invoice["CustomerRef"]["value"]},
        "TotalAmt": money(value),
        "Line": [line],
    }
    return company.shown("Payment", company.create("Payment", payment))


def router(qb: QuickBooksSandbox) -> APIRouter:
    helpers = APIRouter(prefix="/quickbooks", tags=["quickbooks"])

    def company(realm_id: str) -> Company:
        if realm_id not in qb.companies:
            raise HTTPException(404, f"no sandbox company {realm_id!r}")
        return qb.companies[realm_id]

    def entity(path: str) -> str:
        if path not in ENTITY_PATHS:
            raise HTTPException(404, f"unknown entity {path!r}; one of {', '.join(ENTITY_PATHS)}")
        return ENTITY_PATHS[path]

    @helpers.get("/_companies")
    async def companies() -> list[dict]:
        return [
            {"realm_id": c.realm_id, "name": c.name, "counts": {e: len(c.records[e]) for e in ENTITIES}}
            for c in qb.companies.values()
        ]

    @helpers.get("/_companies/{realm_id}/{entity_path}")
    async def records(realm_id: str, entity_path: str) -> list[dict]:
        books, name = company(realm_id), entity(entity_path)
        return [
            books.shown(name, r) for r in sorted(books.records[name].values(), key=lambda r: int(r["Id"]))
        ]

    @helpers.post("/_companies/{realm_id}/{entity_path}")
    async def create(realm_id: str, entity_path: str, body: Annotated[dict, Body()]):
        books, name = company(realm_id), entity(entity_path)
        return _attempt(lambda: books.shown(name, books.create(name, body)))

    @helpers.post("/_companies/{realm_id}/invoice/{invoice_id}/payment")
    async def pay(realm_id: str, invoice_id: str, request: Request):
        books = company(realm_id)
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            paid = (await request.form()).get("amount")
            try:
                record_payment(books, invoice_id, str(paid or ""))
            except Fault as refused:
                return RedirectResponse(f"/quickbooks/app?error={quote(refused.detail)}", 303)
            return RedirectResponse("/quickbooks/app", 303)
        sent = await request.json() if await request.body() else {}
        return _attempt(lambda: record_payment(books, invoice_id, sent.get("amount")))

    @helpers.post("/_companies/{realm_id}/{entity_path}/{record_id}")
    async def edit(realm_id: str, entity_path: str, record_id: str, changes: Annotated[dict, Body()]):
        books, name = company(realm_id), entity(entity_path)
        return _attempt(lambda: books.shown(name, books.edit_as_bookkeeper(name, record_id, changes)))

    @helpers.post("/_tokens/expire")
    async def expire_tokens(body: Annotated[dict | None, Body()] = None):
        return {"expired": qb.authority.expire_access_tokens((body or {}).get("realm_id"))}

    @helpers.get("/app", response_class=HTMLResponse)
    async def app(error: str | None = None):
        return HTMLResponse(_page(qb, error))

    return helpers


_STYLE = """body{font-family:system-ui,sans-serif;background:#f4f5f8;margin:0;color:#393a3d}
header{background:#2ca01c;color:#fff;padding:1rem 1.5rem}header h1{margin:0;font-size:1.2rem}
header a{color:#e8f5e4}main{max-width:70rem;margin:0 auto;padding:1rem}
section{background:#fff;border-radius:8px;margin:1rem 0;padding:1rem 1.25rem;box-shadow:0 1px 4px #0001}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin-bottom:1rem}
th,td{text-align:left;padding:.35rem .5rem;border-top:1px solid #e5e8ee}
h3{font-size:.95rem;margin:.75rem 0 .25rem}
.error{color:#b00020}input{width:6rem;padding:.2rem}button{padding:.25rem .7rem;cursor:pointer}"""


def _table(headings: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return '<p class="empty">None yet.</p>'
    head = "".join(f"<th>{h}</th>" for h in headings)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _company_html(company: Company) -> str:
    def text(value) -> str:
        return html.escape(str(value if value is not None else ""))

    customers = [
        [
            text(c["Id"]),
            text(c["DisplayName"]) + ("" if c.get("Active", True) else " (inactive)"),
            text((c.get("PrimaryEmailAddr") or {}).get("Address")),
            text((c.get("PrimaryPhone") or {}).get("FreeFormNumber")),
            f"${c['Balance']:,.2f}",
            text(c["SyncToken"]),
        ]
        for c in (company.shown("Customer", r) for r in company.records["Customer"].values())
    ]
    invoices = []
    for invoice in company.records["Invoice"].values():
        action = ""
        if invoice["Balance"] > 0:
            action = (
                f'<form method="post" action="/quickbooks/_companies/{company.realm_id}/invoice/'
                f'{invoice["Id"]}/payment"><input name="amount" value="{invoice["Balance"]:.2f}">'
                "<button>Record payment</button></form>"
            )
        invoices.append(
            [
                text(invoice["DocNumber"]) + (" (voided)" if voided(invoice) else ""),
                text(invoice["CustomerRef"].get("name")),
                f"${invoice['TotalAmt']:,.2f}",
                f"${invoice['Balance']:,.2f}",
                text(invoice["DueDate"]),
                action,
            ]
        )
    payments = [
        [
            text(p["Id"]),
            text(p["CustomerRef"].get("name")),
            f"${p['TotalAmt']:,.2f}",
            text(p["TxnDate"]),
            ", ".join(text(line["LinkedTxn"][0]["TxnId"]) for line in p.get("Line") or []),
        ]
        for p in company.records["Payment"].values()
    ]
    items = [
        [text(i["Id"]), text(i["Name"]), text(i["Type"]), f"${i['UnitPrice']:,.2f}"]
        for i in company.records["Item"].values()
    ]
    return (
        f"<section><h2>{text(company.name)} · realm {text(company.realm_id)}</h2>"
        f"<h3>Customers</h3>{_table(['Id', 'Name', 'Email', 'Phone', 'Balance', 'SyncToken'], customers)}"
        f"<h3>Invoices</h3>{_table(['No.', 'Customer', 'Total', 'Balance', 'Due', ''], invoices)}"
        f"<h3>Payments</h3>{_table(['Id', 'Customer', 'Amount', 'Date', 'Invoice ids'], payments)}"
        f"<h3>Products and services</h3>{_table(['Id', 'Name', 'Type', 'Price'], items)}</section>"
    )


def _page(qb: QuickBooksSandbox, error: str | None) -> str:
    problem = f'<section class="error">{html.escape(error)}</section>' if error else ""
    companies = "".join(_company_html(c) for c in reversed(qb.companies.values()))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandbox QuickBooks</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head><body>
<header><h1>QuickBooks Online (sandbox): the bookkeeper's view</h1>
<a href="/inbox">inbox</a> · <a href="">refresh</a></header><main>{problem}
{companies or "<section>No company connected yet: connect NexJob to QuickBooks first.</section>"}
</main></body></html>"""
