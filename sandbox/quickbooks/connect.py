"""Intuit's OAuth endpoints, as the sandbox serves them under /quickbooks (paths mirror Intuit's):

- `GET /quickbooks/.well-known/openid_configuration`: the discovery document intuit-oauth reads
- `GET /quickbooks/connect/oauth2`: the consent page ("NexJob wants to connect to …", Connect / Cancel).
  The form posts back to the same URL with `decision` = connect | cancel and `company` = a realm id or
  "new" (the default: a fresh sandbox company). Connect redirects to `redirect_uri` with `code`, `state`
  and `realmId`; Cancel with `error=access_denied`.
- `POST /quickbooks/oauth2/v1/tokens/bearer`: `authorization_code` and `refresh_token` grants (HTTP basic
  client auth); `POST /quickbooks/oauth2/v1/tokens/revoke`; `GET /quickbooks/v1/openid_connect/userinfo`;
  `GET /quickbooks/oauth2/v1/keys` (the id tokens' key set)
"""

import html
import json
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from sandbox.provider_route import provider_route
from sandbox.quickbooks.oauth import APPS, SCOPES, OAuthError
from sandbox.quickbooks.service import QuickBooksSandbox

NEW_COMPANY = "new"


def _outage(outage: HTTPException) -> OAuthError:
    error = "temporarily_unavailable" if outage.status_code in (429, 503) else "server_error"
    return OAuthError(outage.status_code, error, str(outage.detail))


# Failures of the token endpoints leave as OAuth errors (`{"error": ...}`), the controls' outages included.
_OAuthRoute = provider_route(OAuthError, _outage, lambda message: OAuthError(400, "invalid_request", message))


def discovery_document(base: str, issuer: str) -> dict:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{base}/connect/oauth2",
        "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
        "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
        "revocation_endpoint": f"{base}/oauth2/v1/tokens/revoke",
        "jwks_uri": f"{base}/oauth2/v1/keys",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": sorted(SCOPES),
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>
body{{font-family:system-ui,sans-serif;background:#f4f5f8;margin:0;color:#393a3d}}
main{{max-width:28rem;margin:3rem auto;background:#fff;border-radius:8px;padding:2rem;
box-shadow:0 2px 8px #0002}}
.brand{{color:#2ca01c;font-weight:700}}h1{{font-size:1.25rem}}
select{{width:100%;padding:.5rem;margin:.5rem 0 1.25rem}}
button{{padding:.6rem 1.4rem;border:0;border-radius:4px;font-size:1rem;cursor:pointer;margin-right:.5rem}}
.connect{{background:#2ca01c;color:#fff}}.cancel{{background:#e3e5e8}}.error{{color:#b00020}}
</style></head><body><main><div class="brand">intuit quickbooks · sandbox</div>{body}</main></body></html>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status)


class _Refused(Exception):
    """An authorization request that cannot go back to the app: shown on the page, as Intuit does."""


class _Redirected(Exception):
    """An authorization request refused by redirecting to the app with `error`."""

    def __init__(self, location: str):
        self.location = location


def _redirect(redirect_uri: str, params: dict) -> str:
    return f"{redirect_uri}{'&' if urlsplit(redirect_uri).query else '?'}{urlencode(params)}"


def _checked(params) -> tuple[str, str, list[str], str]:
    """(client id, redirect uri, scopes, state) of a valid authorization request, else raises."""
    client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
    state = params.get("state", "")
    if client_id not in APPS:
        raise _Refused("This app is not known to the sandbox (invalid client_id).")
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        raise _Refused("The redirect_uri is missing or not a web address.")
    if params.get("response_type") != "code":
        raise _Redirected(_redirect(redirect_uri, {"error": "unsupported_response_type", "state": state}))
    scopes = params.get("scope", "").split()
    if not scopes or not set(scopes) <= SCOPES:
        raise _Redirected(_redirect(redirect_uri, {"error": "invalid_scope", "state": state}))
    return client_id, redirect_uri, scopes, state


def router(qb: QuickBooksSandbox) -> APIRouter:
    gate = qb.context.controls.gate
    pages = APIRouter(prefix="/quickbooks", tags=["quickbooks"])
    endpoints = APIRouter(route_class=_OAuthRoute)
    base = f"{qb.context.public_url}/quickbooks"

    @endpoints.get("/.well-known/openid_configuration")
    async def discovery():
        await gate("quickbooks")
        return discovery_document(base, qb.authority.issuer)

    @pages.get("/connect/oauth2", response_class=HTMLResponse)
    async def consent(request: Request):
        await gate("quickbooks")
        try:
            client_id, _, _, _ = _checked(request.query_params)
        except _Refused as refused:
            return _page(
                "Error", f'<h1>Something went wrong</h1><p class="error">{html.escape(str(refused))}</p>', 400
            )
        except _Redirected as redirected:
            return RedirectResponse(redirected.location, 303)
        choices = "".join(
            f'<option value="{html.escape(c.realm_id)}">{html.escape(c.name)}</option>'
            for c in qb.companies.values()
        )
        new = html.escape(qb.next_company_name())
        company = "your QuickBooks company" if choices else new
        body = f"""<h1>{html.escape(APPS[client_id])} wants to connect to {company}</h1>
<p>It will be able to read and change your customers, products, invoices and payments.</p>
<form method="post"><label>Company<select name="company">
<option value="{NEW_COMPANY}" selected>{new} (new)</option>{choices}</select></label>
<button class="connect" name="decision" value="connect">Connect</button>
<button class="cancel" name="decision" value="cancel">Cancel</button></form>"""
        return _page("Connect to QuickBooks", body)

    @pages.post("/connect/oauth2")
    async def decide(request: Request):
        await gate("quickbooks")
        try:
            client_id, redirect_uri, scopes, state = _checked(request.query_params)
        except _Refused as refused:
            return _page("Error", f'<p class="error">{html.escape(str(refused))}</p>', 400)
        except _Redirected as redirected:
            return RedirectResponse(redirected.location, 303)
        form = await request.form()
        if form.get("decision") != "connect":
            return RedirectResponse(_redirect(redirect_uri, {"error": "access_denied", "state": state}), 303)
        company = qb.companies.get(str(form.get("company") or "")) or qb.new_company()
        code = qb.authority.issue_code(client_id, company.realm_id, scopes, redirect_uri)
        return RedirectResponse(
            _redirect(redirect_uri, {"code": code, "state": state, "realmId": company.realm_id}), 303
        )

    @endpoints.post("/oauth2/v1/tokens/bearer")
    async def token(request: Request):
        await request.body()  # as Intuit: a refresh whose answer is lost still rotated the token
        await gate("quickbooks")
        client_id = qb.authority.authenticate_client(request.headers.get("authorization", ""))
        form = await request.form()
        grant = form.get("grant_type")
        if grant == "authorization_code":
            answer = qb.authority.exchange_code(
                client_id, str(form.get("code") or ""), str(form.get("redirect_uri") or "")
            )
        elif grant == "refresh_token":
            answer = qb.authority.refresh(client_id, str(form.get("refresh_token") or ""))
        else:
            raise OAuthError(400, "unsupported_grant_type")
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    @endpoints.post("/oauth2/v1/tokens/revoke")
    async def revoke(request: Request):
        await gate("quickbooks")
        qb.authority.authenticate_client(request.headers.get("authorization", ""))
        try:
            token = json.loads(await request.body() or b"{}").get("token")
        except (ValueError, AttributeError):
            token = None
        if not token:
            raise OAuthError(400, "invalid_request", "token is required")
        qb.authority.revoke(str(token))
        return Response(status_code=200)

    @endpoints.get("/v1/openid_connect/userinfo")
    async def userinfo(request: Request):
        await gate("quickbooks")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        info = qb.authority.user_info(token) if scheme.lower() == "bearer" else None
        if info is None:
            raise OAuthError(401, "invalid_token")
        return info

    @endpoints.get("/oauth2/v1/keys")
    async def keys():
        await gate("quickbooks")
        return qb.authority.signer.jwks()

    pages.include_router(endpoints)
    return pages
