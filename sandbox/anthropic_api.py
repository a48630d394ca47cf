"""Claude stand-in: `POST /anthropic/v1/messages`, deterministic.

Answers "Sandbox Claude: <the prompt's first words>", or JSON when the system prompt asks for JSON (shaped
like the first JSON schema found in the system prompt, else `{"answer": …}`). Token counts are word
counts. `POST /_ai/script` (see sandbox/gemini_api.py) scripts its answers too.
"""

import hashlib
import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from sandbox.context import SandboxContext
from sandbox.gemini_api import count_tokens, sample_for_schema, summary, take_script

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


def _anthropic_error(code: int, message: str, headers: dict | None = None) -> JSONResponse:
    body = {"type": "error", "error": {"type": ERROR_TYPES.get(code, "api_error"), "message": message}}
    return JSONResponse(body, status_code=code, headers=headers)


def _text(content) -> str:
    """`system` and message `content` are either a string or a list of blocks."""
    if isinstance(content, str):
        return content
    return " ".join(block.get("text", "") for block in content or [] if block.get("type") == "text")


def _schema_in(system: str) -> dict | None:
    """The first JSON object in the system prompt, if there is one."""
    start = system.find("{")
    if start < 0:
        return None
    try:
        schema, _ = json.JSONDecoder().raw_decode(system[start:])
    except json.JSONDecodeError:
        return None
    return schema if isinstance(schema, dict) else None


def router(context: SandboxContext) -> APIRouter:
    # The anthropic SDK puts "/v1/messages" after the base URL we give it ({sandbox}/anthropic).
    api = APIRouter(prefix="/anthropic/v1", tags=["anthropic"])

    @api.post("/messages")
    async def create_message(request: Request):
        try:
            await context.controls.gate("anthropic")
        except HTTPException as exc:  # the same failure, in Anthropic's error shape
            return _anthropic_error(exc.status_code, str(exc.detail), exc.headers)
        # Older SDKs send the key as x-api-key, current ones as a bearer token.
        if not (request.headers.get("x-api-key") or request.headers.get("authorization")):
            return _anthropic_error(401, "x-api-key header is required")
        body = await request.json()
        if not body.get("model") or not body.get("messages") or not body.get("max_tokens"):
            return _anthropic_error(400, "model, messages and max_tokens are required")
        system = _text(body.get("system"))
        prompt = " ".join(_text(m.get("content")) for m in body["messages"] if m.get("role") == "user")

        scripted = await take_script(context, "anthropic")
        if scripted is not None and scripted.text is not None:
            text = scripted.text
        elif "json" in system.lower():
            text = json.dumps(sample_for_schema(_schema_in(system), prompt))
        else:
            text = f"Sandbox Claude: {summary(prompt)}"

        return {
            "id": "msg_sandbox_" + hashlib.sha256(f"{body['model']}/{prompt}".encode()).hexdigest()[:20],
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": count_tokens(f"{system} {prompt}"),
                "output_tokens": count_tokens(text),
            },
        }

    return api
