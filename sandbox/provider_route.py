"""A FastAPI route class per provider stand-in, so every failure leaves in that provider's error format:
its own refusals, the controls' outages and malformed requests alike."""

from collections.abc import Callable

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute


def provider_route(
    failure: type[Exception],
    from_outage: Callable[[HTTPException], Exception],
    from_invalid: Callable[[str], Exception],
) -> type[APIRoute]:
    """`failure` exceptions have `.response()`; the two callables build one from an outage (raised by the
    controls' gate) and from a request that did not validate."""

    class ProviderRoute(APIRoute):
        def get_route_handler(self):
            handle = super().get_route_handler()

            async def in_provider_format(request: Request) -> Response:
                try:
                    return await handle(request)
                except failure as refused:
                    return refused.response()
                except HTTPException as outage:
                    return from_outage(outage).response()
                except RequestValidationError as bad:
                    return from_invalid(f"Invalid request: {bad.errors()}").response()

            return in_provider_format

    return ProviderRoute
