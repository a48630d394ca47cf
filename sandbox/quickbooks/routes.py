"""The QuickBooks stand-in's router: the OAuth endpoints, the v3 Accounting API, the bookkeeper's side."""

import json

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from sandbox.context import SandboxContext
from sandbox.quickbooks import books, connect
from sandbox.quickbooks.query import changes, run
from sandbox.quickbooks.service import QuickBooksSandbox
from sandbox.quickbooks.store import ENTITIES, Company, Reply, not_found
from sandbox.quickbooks.wire import Fault, QuickBooksRoute, blank, response_time, unsupported

ENTITY_PATHS = {entity.lower(): entity for entity in ENTITIES}


def entity_named(path: str) -> str:
    if path not in ENTITY_PATHS:
        raise unsupported(f"/{path}")
    return ENTITY_PATHS[path]


def answer(content: dict) -> dict:
    return content | {"time": response_time()}


def write(company: Company, path: str, params, body: bytes) -> dict:
    """Create, or update when the body has an Id: python-quickbooks' `save`; or an invoice's void
    (`?operation=void`: python-quickbooks' `Invoice.void`)."""
    entity = entity_named(path)
    operation = params.get("operation")
    if operation is not None and (entity, operation) != ("Invoice", "void"):  # delete, other voids
        raise unsupported(f"{operation} of {entity}")
    try:
        sent = json.loads(body or b"{}")
    except ValueError as bad:
        raise Fault("2010", "Request has invalid or unsupported property", f"Invalid JSON: {bad}") from None
    if not isinstance(sent, dict):
        raise Fault("2010", "Request has invalid or unsupported property", "The body must be a JSON object")
    if operation == "void":
        record = company.void_invoice(sent)
    elif blank(sent.get("Id")):
        record = company.create(entity, sent)
    else:
        record = company.update(entity, sent)
    return answer({entity: company.shown(entity, record)})


def router(context: SandboxContext) -> APIRouter:
    qb = QuickBooksSandbox(context)
    gate = context.controls.gate
    api = APIRouter(prefix="/quickbooks/v3/company/{realm_id}", route_class=QuickBooksRoute)

    @api.get("/query")
    @api.post("/query")
    async def query(realm_id: str, request: Request):
        """`select … from …` in the body (python-quickbooks) or as `?query=`."""
        text = request.query_params.get("query") or (await request.body()).decode()
        await gate("quickbooks")
        return answer({"QueryResponse": run(qb.company_for(request, realm_id), text)})

    @api.get("/cdc")
    async def change_data_capture(
        realm_id: str,
        request: Request,
        entities: str = "",
        changed_since: str = Query("", alias="changedSince"),
    ):
        await gate("quickbooks")
        company = qb.company_for(request, realm_id)
        return answer({"CDCResponse": [{"QueryResponse": changes(company, entities, changed_since)}]})

    @api.get("/companyinfo/{company_id}")
    async def company_info(realm_id: str, company_id: str, request: Request):
        """python-quickbooks' `CompanyInfo.get(realm_id)`: the company's name, for "connected to …"."""
        await gate("quickbooks")
        company = qb.company_for(request, realm_id)
        if company_id != realm_id:
            raise not_found("CompanyInfo")
        return answer({"CompanyInfo": company.info()})

    @api.get("/{entity}/{record_id}")
    async def read(realm_id: str, entity: str, record_id: str, request: Request):
        await gate("quickbooks")
        company = qb.company_for(request, realm_id)
        name = entity_named(entity)
        return answer({name: company.shown(name, company.get(name, record_id))})

    @api.post("/{entity}")
    async def create_or_update(realm_id: str, entity: str, request: Request):
        # Read the request before any held-up answer: a client that gave up waiting has still sent it, and
        # QuickBooks still carries it out (the "timeout, then retry with the same requestid" case).
        body = await request.body()
        await gate("quickbooks")
        company = qb.company_for(request, realm_id)
        request_id = request.query_params.get("requestid")
        if request_id and request_id in company.replies:
            replay = company.replies[request_id]
            return JSONResponse(replay.body, replay.status)
        try:
            status, content = 200, write(company, entity, request.query_params, body)
        except Fault as refused:
            status, content = refused.status, refused.body()
        if request_id:
            company.replies[request_id] = Reply(status, content)
        return JSONResponse(content, status)

    outer = APIRouter(tags=["quickbooks"])
    outer.include_router(connect.router(qb))
    outer.include_router(api)
    outer.include_router(books.router(qb))
    return outer
