"""QuickBooks Online stand-in: Intuit's OAuth 2.0 and the v3 Accounting API subset NexJob uses, spoken to
by intuit-oauth and python-quickbooks unchanged.

- OAuth (`connect.py`): discovery document `{sandbox}/quickbooks/.well-known/openid_configuration` (give it
  to intuit-oauth's `AuthClient` as `environment`), a consent page, codes, rotating refresh tokens,
  hour-long access tokens, revocation, userinfo and id tokens.
- API under `{sandbox}/quickbooks/v3` (python-quickbooks' `api_url_v3`): `/company/{realm}/customer`, `item`,
  `invoice`, `payment` (create, read, full and sparse update with SyncToken; an invoice's `?operation=void`),
  `/query`, `/cdc`.
  A write with a `requestid` already seen in that company answers what the first one got and does nothing.
  Refusals come as QuickBooks' Faults: 5010 stale SyncToken, 6240 duplicate name, 610 not found, 2020
  missing, 2500 bad reference, 6000 business rule, 4000 query syntax; 401 / 403 from the gateway for a bad
  or foreign token.
- The bookkeeper's side (`books.py`): records read and written as a person in QuickBooks would, a page
  at `/quickbooks/app`, and forcing access tokens to expire.
`POST /_control/quickbooks` makes it fail (500 SystemFault), throttle (429), go down (503) or hang.
"""

from sandbox.quickbooks.routes import router

__all__ = ["router"]
