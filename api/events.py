"""Live changes for office pages: `GET /v1/events`, a server-sent event stream per signed-in page.

Writers `NOTIFY` inside their transactions (`activities/events.py`). Each API process holds one `LISTEN`
connection (the `EventHub`, opened on the first stream) and fans the company's events out to its streams.
"""

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.engine import make_url

from activities.events import CHANNEL
from api.deps import CurrentPrincipal, SessionDep
from models.enums import Role

router = APIRouter(tags=["events"])
log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0  # a comment line keeps proxies from closing an idle stream
PROBE_SECONDS = 30.0  # with no notification for this long, check the LISTEN connection still answers
QUEUE_SIZE = 256  # events a slow page may fall behind before its stream is closed
RESYNC = {"kind": "resync", "payload": {}}  # events may have been missed: pages reload what they show


@dataclass(eq=False)
class Subscriber:
    company_id: str
    technician_id: str | None  # technicians hear only of their own jobs
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def wants(self, event: dict) -> bool:
        if event.get("company_id") != self.company_id:
            return False
        if self.technician_id is None:
            return True
        payload = event.get("payload") or {}
        mine = {payload.get("assigned_user_id"), payload.get("previous_assigned_user_id")}
        return event.get("kind", "").startswith("job.") and self.technician_id in mine

    def offer(self, event: dict | None) -> bool:
        """Queue the event; False when the page has fallen too far behind and its stream must end."""
        try:
            self.queue.put_nowait(event)
            return True
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)  # the stream ends; the browser reconnects and reloads
            return False


class EventHub:
    """This process's one LISTEN connection, reconnected when it drops, fanned out to its streams."""

    def __init__(self, database_url: str):
        url = make_url(database_url).set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._subscribers: set[Subscriber] = set()
        self._task: asyncio.Task | None = None
        self.listening = asyncio.Event()
        self.backend_pid: int | None = None  # of the LISTEN connection, for ops and tests

    def subscribe(self, company_id: uuid.UUID, technician_id: uuid.UUID | None) -> Subscriber:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="event-hub")
        subscriber = Subscriber(str(company_id), str(technician_id) if technician_id else None)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    @property
    def stream_count(self) -> int:
        return len(self._subscribers)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for subscriber in list(self._subscribers):
            subscriber.offer(None)

    async def _listen(self) -> None:
        delay, connected_before = 0.5, False
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, connect_timeout=10
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.backend_pid = conn.info.backend_pid
                    self.listening.set()
                    if connected_before:
                        self._fan_out(RESYNC)
                    connected_before, delay = True, 0.5
                    while True:
                        async for notify in conn.notifies(timeout=PROBE_SECONDS):
                            self._receive(notify.payload)
                        # A connection that died silently would wait forever: make it answer.
                        await asyncio.wait_for(conn.execute("SELECT 1"), PROBE_SECONDS)
            except Exception as error:  # whatever broke it, connect again
                log.warning("live events: LISTEN connection lost (%s); reconnecting in %.1f s", error, delay)
            finally:
                self.listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _receive(self, raw: str) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            event = None
        if not (isinstance(event, dict) and isinstance(event.get("kind"), str) and "\n" not in event["kind"]):
            log.warning("live events: not an event on %s: %.200s", CHANNEL, raw)
            return
        self._fan_out(event)

    def _fan_out(self, event: dict) -> None:
        for subscriber in list(self._subscribers):
            if (event is RESYNC or subscriber.wants(event)) and not subscriber.offer(event):
                # Never block the hub on one slow page.
                self.unsubscribe(subscriber)


def _frame(event: dict) -> str:
    return f"event: {event['kind']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"


async def _stream(hub: EventHub, subscriber: Subscriber) -> AsyncIterator[str]:
    try:
        yield ": connected\n\n"
        while True:
            try:
                event = await asyncio.wait_for(subscriber.queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if event is None:
                return
            yield _frame(event)
    finally:
        hub.unsubscribe(subscriber)


@router.get(
    "/events", response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}}
)
async def events(request: Request, principal: CurrentPrincipal, session: SessionDep) -> StreamingResponse:
    """Server-sent events of your company's changes (`job.status`, `invoice.status`, …; technicians: their
    own jobs'), each `data` a JSON object with `kind`, `company_id`, `at` and `payload`; `resync` means
    some may have been missed."""
    technician_id = principal.user_id if principal.role == Role.technician else None
    # The stream outlives the request's dependencies: give the session's connection back to the pool now.
    await session.commit()
    hub: EventHub = request.app.state.events
    subscriber = hub.subscribe(principal.company_id, technician_id)
    # Answer once LISTEN is on (it opens with the process's first stream), so a page that reloads what it
    # shows when the stream opens misses nothing after that.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(hub.listening.wait(), 5)
    return StreamingResponse(
        _stream(hub, subscriber),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
