"""The office UI: server-rendered pages for the people who run the business.

Pages read through the same tenancy-scoped queries as the API; every change a page makes goes through the
`/v1` API from the browser (`static/office.js`), so the pages and integrators share one set of rules.
"""
