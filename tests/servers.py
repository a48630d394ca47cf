"""Serving an ASGI app on a real local port inside the test session's event loop."""

import asyncio
import socket
from contextlib import asynccontextmanager

import uvicorn
from temporalio.testing import ActivityEnvironment


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@asynccontextmanager
async def serving(app, port: int, *, lifespan: str = "off"):
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan=lifespan, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn offers a flag, not an event)
        if task.done():
            task.result()  # surfaces why it could not start
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def run_sync_activity(activity_fn, *args):
    """Run a blocking (SDK-calling) activity on a thread, as the worker does, so the sandbox served
    from this event loop can answer it."""
    return await asyncio.to_thread(ActivityEnvironment().run, activity_fn, *args)
