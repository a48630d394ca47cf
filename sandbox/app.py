"""The sandbox server: every provider stand-in, the inbox page and the controls, in one FastAPI app."""

from fastapi import FastAPI

from sandbox.context import SandboxContext


def create_app(context: SandboxContext) -> FastAPI:
    from sandbox import (  # provider modules register themselves below
        anthropic_api,
        gemini_api,
        inbox,
        maps_api,
        quickbooks,
        resend_api,
        stripe,
        twilio_api,
    )

    app = FastAPI(title="NexJob sandbox", description="Local stand-ins for the providers NexJob calls.")
    app.state.context = context
    app.include_router(context.controls.router())
    for module in (maps_api, gemini_api, anthropic_api, stripe, twilio_api, resend_api, quickbooks, inbox):
        app.include_router(module.router(context))
    return app
