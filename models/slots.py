"""The self-scheduling calendar: which start times a customer may pick, and who is free to do the job then.

Everything but `load_availability` is pure: callers pass `now`, so the API, a workflow and the tests get
the same answer for the same data. Times are aware UTC datetimes; business hours are read in the
company's time zone, so a day on which the clocks change is still 08:00 to 17:00 on the wall.
"""

import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.company import Company, User
from models.enums import JobStatus, Role
from models.jobs import Job
from models.validation import WEEKDAYS

SLOT_STEP = timedelta(minutes=30)  # starts are offered on the half hour from opening
CALENDAR_DAYS = 14
MIN_LEAD = timedelta(hours=2)  # time to get a technician there
MAX_AHEAD = timedelta(days=90)
# Cancelled jobs gave their time back and unscheduled ones never had any; every other status holds it.
HOLDS_NO_TIME = (JobStatus.cancelled, JobStatus.unscheduled)


class SlotError(ValueError):
    """A requested start that cannot be booked; the message is written for the customer."""


class SlotTaken(SlotError):
    """A valid start with no qualified technician left free: someone else booked it first."""


@dataclass(frozen=True)
class Booking:
    """Time a technician (or the unassigned pile) already holds, and where."""

    start: datetime
    end: datetime
    lat: float | None = None
    lng: float | None = None


@dataclass(frozen=True)
class Technician:
    id: uuid.UUID
    name: str
    skills: frozenset[str]
    home_lat: float | None
    home_lng: float | None
    bookings: tuple[Booking, ...] = ()  # sorted by start


@dataclass(frozen=True)
class Availability:
    """A company's hours, its active technicians with their bookings, and its unassigned scheduled jobs."""

    timezone: str
    business_hours: dict
    technicians: tuple[Technician, ...]
    unassigned: tuple[Booking, ...] = ()


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    technician_ids: tuple[uuid.UUID, ...]  # the qualified technicians free for the whole window


def skill_set(skills: Iterable[str]) -> frozenset[str]:
    # Skills are typed by people: "Plumbing " and "plumbing" are the same skill.
    return frozenset(s.strip().casefold() for s in skills if s.strip())


def calendar_window(
    timezone: str | tzinfo, now: datetime, days: int = CALENDAR_DAYS
) -> tuple[datetime, datetime]:
    """From the company's local midnight today to local midnight `days` later, in UTC: what to load."""
    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    today = now.astimezone(zone).date()
    return _local(today, time(0), zone), _local(today + timedelta(days=days), time(0), zone)


def opening_hours(business_hours: dict, zone: tzinfo, day: date) -> tuple[datetime, datetime] | None:
    """When the company opens and closes on its local `day`, in UTC; None when it is closed."""
    hours = business_hours.get(WEEKDAYS[day.weekday()])
    if not hours:
        return None
    return (
        _local(day, time.fromisoformat(hours["open"]), zone),
        _local(day, time.fromisoformat(hours["close"]), zone),
    )


def free_slots(
    availability: Availability,
    *,
    required_skills: Iterable[str],
    duration: timedelta,
    now: datetime,
    days: int = CALENDAR_DAYS,
) -> list[Slot]:
    """Every start a customer may pick, in order, over the company's local days today .. today + days - 1.

    `availability` must cover `calendar_window(timezone, now, days)`.
    """
    _check_duration(duration)
    zone = ZoneInfo(availability.timezone)
    busy = _BusyIndex(availability, required_skills)
    earliest, latest = now + MIN_LEAD, now + MAX_AHEAD
    today = now.astimezone(zone).date()
    slots = []
    for offset in range(days):
        hours = opening_hours(availability.business_hours, zone, today + timedelta(days=offset))
        if hours is None:
            continue
        opens, closes = hours
        start = opens
        while start + duration <= closes:
            if earliest <= start <= latest and (slot := busy.slot(start, start + duration)):
                slots.append(slot)
            start += SLOT_STEP
    return slots


def check_start(
    availability: Availability,
    *,
    required_skills: Iterable[str],
    duration: timedelta,
    start: datetime,
    now: datetime,
) -> Slot:
    """The slot at `start` with its free technicians, or SlotError saying why it cannot be booked.

    Run at booking time, under the company's booking lock, on availability freshly loaded for the start's
    local day (`calendar_window(timezone, start, days=1)`): the calendar the customer picked from may be
    minutes old.
    """
    _check_duration(duration)
    if start.tzinfo is None:
        raise ValueError("start must carry a time zone")
    start = start.astimezone(UTC)
    if start <= now:
        raise SlotError("That time has already passed. Please pick another.")
    if start < now + MIN_LEAD:
        raise SlotError(f"Please pick a start at least {_words(MIN_LEAD)} from now.")
    if start > now + MAX_AHEAD:
        raise SlotError(f"We book up to {MAX_AHEAD.days} days ahead. Please pick an earlier date.")

    zone = ZoneInfo(availability.timezone)
    local = start.astimezone(zone)
    hours = opening_hours(availability.business_hours, zone, local.date())
    if hours is None:
        raise SlotError(f"We're closed on {local:%A}s. Please pick another day.")
    opens, closes = hours
    if start < opens or start >= closes:
        raise SlotError(
            f"On {local:%A}s we work {_clock(opens, zone)} to {_clock(closes, zone)}. "
            "Please pick a start in those hours."
        )
    if start + duration > closes:
        raise SlotError(
            f"This job takes {_words(duration)}, so on {local:%A}s it must start by "
            f"{_clock(closes - duration, zone)} (we close at {_clock(closes, zone)})."
        )
    if (start - opens) % SLOT_STEP:
        raise SlotError(
            f"Please pick one of the start times offered (every {_words(SLOT_STEP)} "
            f"from {_clock(opens, zone)})."
        )
    slot = _BusyIndex(availability, required_skills).slot(start, start + duration)
    if slot is None:
        raise SlotTaken("Sorry, that time was just taken. Please pick another.")
    return slot


async def load_availability(
    session: AsyncSession, company: Company, start: datetime, end: datetime
) -> Availability:
    """The company's active technicians and the jobs holding time that overlap [start, end)."""
    technicians = await session.exec(
        select(User.id, User.name, User.skills, User.home_lat, User.home_lng)
        .where(User.company_id == company.id, User.role == Role.technician, col(User.active))
        .order_by(User.name, User.id)
    )
    jobs = await session.exec(
        select(Job.assigned_user_id, Job.scheduled_start, Job.scheduled_end, Job.lat, Job.lng)
        .where(
            Job.company_id == company.id,
            col(Job.status).not_in(HOLDS_NO_TIME),
            col(Job.scheduled_start) < end,
            col(Job.scheduled_end) > start,
        )
        .order_by(Job.scheduled_start)
    )
    bookings: dict[uuid.UUID | None, list[Booking]] = {}
    for user_id, job_start, job_end, lat, lng in jobs:
        booking = Booking(job_start.astimezone(UTC), job_end.astimezone(UTC), lat, lng)
        bookings.setdefault(user_id, []).append(booking)
    return Availability(
        timezone=company.timezone,
        business_hours=company.business_hours,
        technicians=tuple(
            Technician(
                tech_id, name, skill_set(skills or ()), home_lat, home_lng, tuple(bookings.get(tech_id, ()))
            )
            for tech_id, name, skills, home_lat, home_lng in technicians
        ),
        # Jobs assigned to someone who is not an active technician block none of these; only the
        # unassigned ones still wait for one of them.
        unassigned=tuple(bookings.get(None, ())),
    )


class _BusyIndex:
    """The qualified technicians' busy time and the unassigned pile, sorted so each window costs bisects."""

    def __init__(self, availability: Availability, required_skills: Iterable[str]):
        required = skill_set(required_skills)
        self._technicians = [
            (tech.id, *_merged(tech.bookings))
            for tech in availability.technicians
            if required <= skill_set(tech.skills)
        ]
        self._pile_starts = sorted(b.start.astimezone(UTC) for b in availability.unassigned)
        self._pile_ends = sorted(b.end.astimezone(UTC) for b in availability.unassigned)

    def slot(self, start: datetime, end: datetime) -> Slot | None:
        free = tuple(
            tech_id
            for tech_id, starts, ends in self._technicians
            # Intervals [0, i) begin before the window ends; being disjoint, the last of them ends latest.
            if (i := bisect_left(starts, end)) == 0 or ends[i - 1] <= start
        )
        # Every unassigned job overlapping the window will take one of the free technicians.
        pile = bisect_left(self._pile_starts, end) - bisect_right(self._pile_ends, start)
        return Slot(start, end, free) if len(free) > pile else None


def _merged(bookings: Iterable[Booking]) -> tuple[list[datetime], list[datetime]]:
    """Busy time as disjoint intervals: double-booked jobs merged, so the ends are as sorted as the starts."""
    starts: list[datetime] = []
    ends: list[datetime] = []
    # All in the one UTC tzinfo: datetimes sharing a tzinfo compare without calling utcoffset(), which
    # makes the bisects several times faster than on the driver's ZoneInfo("Etc/UTC") values.
    for start, end in sorted((b.start.astimezone(UTC), b.end.astimezone(UTC)) for b in bookings):
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _local(day: date, clock: time, zone: tzinfo) -> datetime:
    # A wall-clock time that does not exist (the hour skipped in spring) comes out an hour later.
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def _check_duration(duration: timedelta) -> None:
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")


def _clock(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%I:%M %p").lstrip("0")


def _words(span: timedelta) -> str:
    hours, minutes = divmod(int(span.total_seconds()) // 60, 60)
    parts = [f"{hours} hour{'s' * (hours != 1)}"] if hours else []
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' * (minutes != 1)}")
    return " ".join(parts)
