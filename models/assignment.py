"""Which free, qualified technician gets a booked job, with the reason in words the office can read.

Pure and deterministic (no I/O, no clock): the booking workflow calls `choose_technician` in workflow
code, and a replay must choose the same technician.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from models.slots import Technician

PREVIOUS_JOB = "their previous job"
HOME_BASE = "home base"
UNKNOWN_LOCATION = "unknown location"
# Driving distances closer than this are a tie: a lighter day matters more than a few hundred metres.
DISTANCE_RESOLUTION_M = 500


@dataclass(frozen=True)
class Candidate:
    technician_id: str
    name: str
    distance_m: int | None  # driving distance from their origin to the job; None when unknown
    origin: str  # PREVIOUS_JOB, HOME_BASE or UNKNOWN_LOCATION
    jobs_that_day: int


@dataclass(frozen=True)
class Choice:
    technician_id: str | None
    reason: str


def choose_technician(candidates: list[Candidate]) -> Choice:
    """The nearest candidate (unknown distances last), then the lightest day, then by name."""
    if not candidates:
        return Choice(None, "no qualified technician is free at that time")
    ranked = sorted(candidates, key=_rank)
    best = ranked[0]
    if len(ranked) == 1:
        lead = "only qualified tech free"
    elif best.distance_m is None:
        lead = "no driving distance known for any free qualified tech; lightest day"
    elif _rank(ranked[1])[:2] == _rank(best)[:2] and ranked[1].jobs_that_day > best.jobs_that_day:
        lead = f"about as close as {ranked[1].name} but a lighter day"
    else:
        lead = "closest qualified tech"
    return Choice(best.technician_id, f"{lead} ({_where(best)}), {_jobs(best.jobs_that_day)}")


def origin_for(tech: Technician, start: datetime, tz: str | tzinfo) -> tuple[float, float, str] | None:
    """Where the technician sets out from for a job at `start`: (lat, lng, label), or None if unknown.

    Their latest job that day ending by `start`, else their home base. When that previous job has no
    coordinates we return None rather than their home: they will not be at home.
    """
    zone = _zone(tz)
    day = start.astimezone(zone).date()
    previous = None
    for booking in tech.bookings:
        if booking.end <= start and booking.end.astimezone(zone).date() == day:
            if previous is None or booking.end > previous.end:
                previous = booking
    if previous is not None:
        if previous.lat is None or previous.lng is None:
            return None
        return previous.lat, previous.lng, PREVIOUS_JOB
    if tech.home_lat is not None and tech.home_lng is not None:
        return tech.home_lat, tech.home_lng, HOME_BASE
    return None


def jobs_on_day(tech: Technician, start: datetime, tz: str | tzinfo) -> int:
    """How many of the technician's bookings overlap the company's local day of `start`."""
    zone = _zone(tz)
    day = start.astimezone(zone).date()
    day_start = datetime.combine(day, time(0), tzinfo=zone)
    day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return sum(1 for b in tech.bookings if b.start < day_end and b.end > day_start)


def _rank(candidate: Candidate) -> tuple:
    distance = candidate.distance_m
    near = 0 if distance is None else (distance + DISTANCE_RESOLUTION_M // 2) // DISTANCE_RESOLUTION_M
    return (distance is None, near, candidate.jobs_that_day, candidate.name, candidate.technician_id)


def _where(candidate: Candidate) -> str:
    if candidate.distance_m is None:
        return f"distance unknown, from {candidate.origin}"
    return f"{candidate.distance_m / 1000:.1f} km from {candidate.origin}"


def _jobs(count: int) -> str:
    if count == 0:
        return "no other jobs that day"
    return f"{count} job{'s' * (count != 1)} that day"


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz
