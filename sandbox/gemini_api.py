"""Gemini stand-in: `POST /gemini/{version}/models/{model}:generateContent`, deterministic.

Answers "Sandbox Gemini: <the prompt's first words>", or JSON shaped like the request's response schema
when it asks for `application/json`. Token counts are word counts.

Also home to the AI script shared with the Claude stand-in: `POST /_ai/script` with
`{"provider": "gemini" | "anthropic", "text": "…" | null, "times": N | null, "delay_ms": N}` makes that
provider's next answers exactly `text` (after `delay_ms`), `times` answers or until `POST /_ai/reset`.
"""

import asyncio
import hashlib
import json
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from sandbox.context import SandboxContext

AI_PROVIDERS = ("gemini", "anthropic")
SUMMARY_WORDS = 12
# The google.rpc status Google's APIs put beside each HTTP code.
GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


# ---- shared with sandbox/anthropic_api.py ---------------------------------------------------------


@dataclass
class ScriptedReply:
    text: str | None  # None: the default answer, only delayed
    times: int | None  # None: until reset
    delay_ms: int = 0


class ScriptRequest(BaseModel):
    provider: str
    text: str | None = None
    times: int | None = None  # like /_control: omitted or null means until reset
    delay_ms: int = 0


async def take_script(context: SandboxContext, provider: str) -> ScriptedReply | None:
    """The next scripted reply for `provider` (after its delay), or None to answer normally."""
    queue = context.ai_scripts[provider]
    if not queue:
        return None
    reply = queue[0]
    if reply.times is not None:
        reply.times -= 1
        if reply.times <= 0:
            queue.popleft()
    if reply.delay_ms:
        await asyncio.sleep(reply.delay_ms / 1000)
    return reply


def count_tokens(text: str) -> int:
    return max(1, len(text.split()))


def summary(text: str) -> str:
    words = text.split()
    return " ".join(words[:SUMMARY_WORDS]) + (" …" if len(words) > SUMMARY_WORDS else "")


def sample_for_schema(schema: dict | None, seed: str):
    """A deterministic value that satisfies a (JSON or OpenAPI-style) schema, built from `seed`."""
    schema = schema or {}
    if "enum" in schema:
        return schema["enum"][0]
    kind = str(schema.get("type", "object")).lower()
    if kind == "object":
        properties = schema.get("properties") or {"answer": {"type": "string"}}
        return {name: sample_for_schema(sub, seed) for name, sub in properties.items()}
    if kind == "array":
        return [sample_for_schema(schema.get("items"), seed)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", 0)
        high = schema.get("maximum", low + 100)
        # Stable for the same seed, spread over the allowed range.
        value = low + int(hashlib.sha256(seed.encode()).hexdigest(), 16) % (int(high - low) + 1)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return summary(seed) or "sandbox"


def script_router(context: SandboxContext) -> APIRouter:
    router = APIRouter(prefix="/_ai", tags=["ai controls"])

    @router.post("/script")
    async def script(body: ScriptRequest):
        if body.provider not in AI_PROVIDERS:
            raise HTTPException(404, f"unknown provider {body.provider!r}; one of {', '.join(AI_PROVIDERS)}")
        context.ai_scripts[body.provider].append(ScriptedReply(body.text, body.times, body.delay_ms))
        return {"ok": True}

    @router.post("/reset")
    async def reset():
        for queue in context.ai_scripts.values():
            queue.clear()
        return {"ok": True}

    return router


# ---- Gemini -------------------------------------------------------------------------------------


def _google_error(code: int, message: str, headers: dict | None = None) -> JSONResponse:
    status = GOOGLE_STATUS.get(code, "UNKNOWN")
    body = {"error": {"code": code, "message": message, "status": status}}
    return JSONResponse(body, status_code=code, headers=headers)


def _texts(content: dict | None) -> str:
    return " ".join(part.get("text", "") for part in (content or {}).get("parts", []) if "text" in part)


def router(context: SandboxContext) -> APIRouter:
    # google-genai puts "/{api version}/models/…" after the base URL we give it ({sandbox}/gemini).
    api = APIRouter(tags=["gemini"])
    api.include_router(script_router(context))

    @api.post("/gemini/{version}/models/{model}:generateContent")
    async def generate_content(version: str, model: str, request: Request):
        try:
            await context.controls.gate("gemini")
        except HTTPException as exc:  # the same failure, in Google's error shape
            return _google_error(exc.status_code, str(exc.detail), exc.headers)
        if not (request.headers.get("x-goog-api-key") or request.query_params.get("key")):
            return _google_error(401, "Method doesn't allow unregistered callers. Please use an API key.")
        body = await request.json()
        prompt = " ".join(_texts(c) for c in body.get("contents", []))
        config = body.get("generationConfig") or {}

        scripted = await take_script(context, "gemini")
        if scripted is not None and scripted.text is not None:
            text = scripted.text
        elif config.get("responseMimeType") == "application/json":
            schema = config.get("responseJsonSchema") or config.get("responseSchema")
            text = json.dumps(sample_for_schema(schema, prompt))
        else:
            text = f"Sandbox Gemini: {summary(prompt)}"

        prompt_tokens = count_tokens(prompt + " " + _texts(body.get("systemInstruction")))
        answer_tokens = count_tokens(text)
        return {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": answer_tokens,
                "totalTokenCount": prompt_tokens + answer_tokens,
            },
            "modelVersion": model,
            "responseId": hashlib.sha256(f"{model}/{prompt}".encode()).hexdigest()[:24],
        }

    return api
