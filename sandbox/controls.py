"""Test and demo controls: make a provider fail, time out, rate-limit or go down, then recover.

`POST /_control/{provider}` with `{"mode": "fail" | "timeout" | "rate_limit" | "down" | "ok", "times": N}`
(`times` omitted: until told otherwise). "timeout" holds each request `seconds` (default 30) before
serving it, the way a slow provider does: the work still happens, the caller has long given up.
Every provider route starts with `await controls.gate(name)`.
"""

import asyncio
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

PROVIDERS = ("stripe", "twilio", "resend", "gemini", "anthropic", "maps", "quickbooks")
MODES = ("ok", "fail", "timeout", "rate_limit", "down")
TIMEOUT_SECONDS = 30  # longer than any client timeout we set


@dataclass
class Misbehaviour:
    mode: str = "ok"
    times: int | None = None  # None: until reset
    seconds: float = TIMEOUT_SECONDS  # how long "timeout" holds a request


class ControlRequest(BaseModel):
    mode: str
    times: int | None = None
    seconds: float = TIMEOUT_SECONDS


class Controls:
    def __init__(self) -> None:
        self._state: dict[str, Misbehaviour] = {p: Misbehaviour() for p in PROVIDERS}

    def set(
        self, provider: str, mode: str, times: int | None = None, seconds: float = TIMEOUT_SECONDS
    ) -> None:
        self._state[provider] = Misbehaviour(mode, times, seconds)

    def reset(self) -> None:
        for provider in PROVIDERS:
            self._state[provider] = Misbehaviour()

    async def gate(self, provider: str) -> None:
        """Misbehave as told before serving a request (raises the HTTP error the provider would)."""
        state = self._state[provider]
        if state.mode == "ok":
            return
        if state.times is not None:
            state.times -= 1
            if state.times <= 0:
                self._state[provider] = Misbehaviour()
        if state.mode == "timeout":
            await asyncio.sleep(state.seconds)
        elif state.mode == "rate_limit":
            raise HTTPException(429, f"{provider} sandbox: rate limited", headers={"Retry-After": "1"})
        elif state.mode == "fail":
            raise HTTPException(500, f"{provider} sandbox: internal error")
        elif state.mode == "down":
            raise HTTPException(503, f"{provider} sandbox: service unavailable")

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/_control", tags=["controls"])

        @router.post("/reset")
        async def reset_all():
            self.reset()
            return {"ok": True}

        @router.post("/{provider}")
        async def set_mode(provider: str, body: ControlRequest):
            if provider not in PROVIDERS:
                raise HTTPException(404, f"unknown provider {provider!r}; one of {', '.join(PROVIDERS)}")
            if body.mode not in MODES:
                raise HTTPException(422, f"unknown mode {body.mode!r}; one of {', '.join(MODES)}")
            self.set(provider, body.mode, body.times, body.seconds)
            return {"provider": provider, "mode": body.mode, "times": body.times, "seconds": body.seconds}

        @router.get("")
        async def show():
            return {p: vars(m) for p, m in self._state.items()}

        return router
