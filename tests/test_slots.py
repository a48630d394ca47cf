"""The self-scheduling calendar (free_slots, check_start), loading it, and choosing the technician."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.assignment import (
    HOME_BASE,
    PREVIOUS_JOB,
    Candidate,
    Choice,
    choose_technician,
    jobs_on_day,
    origin_for,
)
from models.company import DEFAULT_BUSINESS_HOURS, Company, User
from models.customers import Customer
from models.enums import JobStatus, Role
from models.jobs import Job
from models.slots import (
    Availability,
    Booking,
    SlotError,
    SlotTaken,
    Technician,
    calendar_window,
    check_start,
    free_slots,
    load_availability,
)

CHICAGO = ZoneInfo("America/Chicago")
TWO_HOURS = timedelta(hours=2)
EVERY_DAY = {day: {"open": "08:00", "close": "17:00"} for day in DEFAULT_BUSINESS_HOURS}
ALL_DAY = {day: {"open": "00:00", "close": "23:59"} for day in DEFAULT_BUSINESS_HOURS}


def at(day: str, clock: str) -> datetime:
    """A wall-clock time in Chicago, as the aware UTC datetime the code works with."""
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), tzinfo=CHICAGO).astimezone(
        UTC
    )


def local_clocks(slots) -> list[str]:
    return [slot.start.astimezone(CHICAGO).strftime("%H:%M") for slot in slots]


def tech(name="Ana", skills=("plumbing",), bookings=(), home=(30.27, -97.74)) -> Technician:
    return Technician(
        id=uuid.uuid5(uuid.NAMESPACE_DNS, name),
        name=name,
        skills=frozenset(skills),
        home_lat=home[0] if home else None,
        home_lng=home[1] if home else None,
        bookings=tuple(bookings),
    )


def company(*technicians, unassigned=(), hours=DEFAULT_BUSINESS_HOURS) -> Availability:
    return Availability("America/Chicago", hours, tuple(technicians), tuple(unassigned))


MONDAY = "2026-11-09"
EARLY_MONDAY = at(MONDAY, "05:00")  # long before opening: MIN_LEAD does not get in the way


def monday_slots(availability, skills=("plumbing",), duration=TWO_HOURS):
    return free_slots(availability, required_skills=skills, duration=duration, now=EARLY_MONDAY, days=1)


# --- the calendar --------------------------------------------------------------------------------------


def test_starts_are_every_half_hour_from_opening_and_the_job_ends_by_closing():
    slots = monday_slots(company(tech()))
    assert local_clocks(slots) == [f"{h:02d}:{m:02d}" for h in range(8, 16) for m in (0, 30)][:-1]
    assert slots[-1].end == at(MONDAY, "17:00")
    assert all(slot.end - slot.start == TWO_HOURS for slot in slots)


def test_a_job_longer_than_the_day_gets_no_slots():
    assert monday_slots(company(tech()), duration=timedelta(hours=10)) == []


def test_closed_days_offer_nothing_and_the_calendar_spans_the_local_days_asked_for():
    slots = free_slots(
        company(tech()), required_skills=["plumbing"], duration=TWO_HOURS, now=EARLY_MONDAY, days=14
    )
    days = sorted({slot.start.astimezone(CHICAGO).date() for slot in slots})
    assert [d.strftime("%a") for d in days] == ["Mon", "Tue", "Wed", "Thu", "Fri"] * 2
    assert days[0] == date(2026, 11, 9) and days[-1] == date(2026, 11, 20)
    assert len(slots) == 10 * 15


def test_the_calendar_starts_no_sooner_than_the_minimum_lead_time():
    slots = free_slots(
        company(tech()), required_skills=["plumbing"], duration=TWO_HOURS, now=at(MONDAY, "09:10"), days=1
    )
    assert local_clocks(slots)[0] == "11:30"  # 09:10 + 2 h = 11:10, next half hour on the grid


def test_business_hours_follow_the_wall_clock_across_the_autumn_change():
    # Sunday 2026-11-01: Chicago goes from CDT (UTC-5) to CST (UTC-6) at 02:00.
    slots = free_slots(
        company(tech(), hours=EVERY_DAY),
        required_skills=["plumbing"],
        duration=TWO_HOURS,
        now=at("2026-10-31", "05:00"),
        days=2,
    )
    saturday, sunday = slots[0], slots[15]
    assert saturday.start == datetime(2026, 10, 31, 13, 0, tzinfo=UTC)
    assert sunday.start == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)
    assert local_clocks(slots) == local_clocks(slots[:15]) * 2


def test_a_day_open_around_the_clock_skips_the_spring_hour_and_repeats_the_autumn_one():
    spring = free_slots(
        company(tech(), hours=ALL_DAY),
        required_skills=["plumbing"],
        duration=timedelta(hours=1),
        now=at("2027-03-13", "12:00"),
        days=2,
    )
    sunday = [s for s in spring if s.start.astimezone(CHICAGO).date() == date(2027, 3, 14)]
    assert local_clocks(sunday)[:6] == ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30"]
    assert all(b.start - a.start == timedelta(minutes=30) for a, b in zip(sunday, sunday[1:], strict=False))

    autumn = free_slots(
        company(tech(), hours=ALL_DAY),
        required_skills=["plumbing"],
        duration=timedelta(hours=1),
        now=at("2026-10-31", "12:00"),
        days=2,
    )
    sunday = [s for s in autumn if s.start.astimezone(CHICAGO).date() == date(2026, 11, 1)]
    assert local_clocks(sunday)[:7] == ["00:00", "00:30", "01:00", "01:30", "01:00", "01:30", "02:00"]


def test_a_busy_technician_loses_only_the_starts_that_overlap_their_job():
    busy = tech(bookings=[Booking(at(MONDAY, "10:00"), at(MONDAY, "11:00"))])
    clocks = local_clocks(monday_slots(company(busy)))
    # 08:00-10:00 ends as the job starts and 11:00 starts as it ends: both stay.
    assert clocks == [
        "08:00",
        "11:00",
        "11:30",
        "12:00",
        "12:30",
        "13:00",
        "13:30",
        "14:00",
        "14:30",
        "15:00",
    ]


def test_slots_list_every_free_qualified_technician_and_stay_while_one_is_free():
    ana = tech("Ana", bookings=[Booking(at(MONDAY, "08:00"), at(MONDAY, "12:00"))])
    ben = tech("Ben")
    found = monday_slots(company(ana, ben))
    assert len(found) == 15
    slots = dict(zip(local_clocks(found), found, strict=True))
    assert slots["08:00"].technician_ids == (ben.id,)
    assert slots["12:00"].technician_ids == (ana.id, ben.id)


def test_only_technicians_with_every_required_skill_count_and_skills_ignore_case():
    plumber = tech("Ana", skills=["Plumbing"])
    both = tech(
        "Ben", skills=["plumbing", "HVAC "], bookings=[Booking(at(MONDAY, "08:00"), at(MONDAY, "17:00"))]
    )
    assert monday_slots(company(plumber, both), skills=["plumbing", "hvac"]) == []
    assert {s.technician_ids for s in monday_slots(company(plumber, both), skills=["plumbing"])} == {
        (plumber.id,)
    }
    assert monday_slots(company(plumber), skills=["electrical"]) == []


def test_unassigned_jobs_hold_capacity_until_more_technicians_are_free_than_unassigned_jobs():
    pile = [Booking(at(MONDAY, "10:00"), at(MONDAY, "11:00"))] * 2
    two_techs = company(tech("Ana"), tech("Ben"), unassigned=pile)
    assert local_clocks(monday_slots(two_techs)) == local_clocks(
        monday_slots(company(tech(bookings=[Booking(at(MONDAY, "10:00"), at(MONDAY, "11:00"))])))
    )
    three_techs = company(tech("Ana"), tech("Ben"), tech("Cy"), unassigned=pile)
    slots = monday_slots(three_techs)
    assert len(slots) == 15
    assert len(slots[2].technician_ids) == 3  # 09:00-11:00: all three are free, two of them spoken for


def test_calendar_window_covers_whole_local_days():
    start, end = calendar_window("America/Chicago", at(MONDAY, "09:10"), days=14)
    assert start == at(MONDAY, "00:00") and end == at("2026-11-23", "00:00")


# --- checking a requested start at booking time ----------------------------------------------------------


def check(availability, start, now=EARLY_MONDAY, duration=TWO_HOURS, skills=("plumbing",)):
    return check_start(availability, required_skills=skills, duration=duration, start=start, now=now)


def test_a_free_start_on_the_grid_is_accepted_with_its_free_technicians():
    ana = tech("Ana")
    slot = check(company(ana), at(MONDAY, "09:30"))
    assert (slot.start, slot.end, slot.technician_ids) == (
        at(MONDAY, "09:30"),
        at(MONDAY, "11:30"),
        (ana.id,),
    )


@pytest.mark.parametrize(
    ("start", "now", "message"),
    [
        (at(MONDAY, "09:00"), at(MONDAY, "09:30"), "already passed"),
        (at(MONDAY, "10:00"), at(MONDAY, "08:30"), "at least 2 hours from now"),
        (at("2027-02-08", "09:00"), EARLY_MONDAY, "up to 90 days ahead"),
        (at("2026-11-14", "09:00"), EARLY_MONDAY, "closed on Saturdays"),
        (at(MONDAY, "07:30"), EARLY_MONDAY, "we work 8:00 AM to 5:00 PM"),
        (at(MONDAY, "17:00"), EARLY_MONDAY, "we work 8:00 AM to 5:00 PM"),
        (at(MONDAY, "15:30"), EARLY_MONDAY, "takes 2 hours, so on Mondays it must start by 3:00 PM"),
        (at(MONDAY, "09:15"), EARLY_MONDAY, "every 30 minutes from 8:00 AM"),
    ],
    ids=[
        "past",
        "too-soon",
        "beyond-90-days",
        "closed-day",
        "before-opening",
        "at-closing",
        "past-closing",
        "off-grid",
    ],
)
def test_a_start_that_cannot_be_booked_is_refused_with_a_reason_for_the_customer(start, now, message):
    with pytest.raises(SlotError, match=message):
        check(company(tech()), start, now=now)


def test_a_start_taken_since_the_calendar_was_shown_is_refused():
    busy = tech(bookings=[Booking(at(MONDAY, "10:00"), at(MONDAY, "12:00"))])
    with pytest.raises(SlotTaken, match="just taken"):
        check(company(busy), at(MONDAY, "09:00"))
    with pytest.raises(SlotTaken, match="just taken"):
        check(
            company(tech(), unassigned=[Booking(at(MONDAY, "09:00"), at(MONDAY, "10:00"))]),
            at(MONDAY, "09:00"),
        )
    with pytest.raises(SlotTaken, match="just taken"):
        check(company(tech()), at(MONDAY, "09:00"), skills=["electrical"])


def test_a_start_ninety_days_out_on_an_open_day_is_accepted():
    now = at("2026-11-10", "09:00")  # a Tuesday: 90 days later is Monday 2027-02-08, 09:00
    assert check(company(tech()), now + timedelta(days=90), now=now).start == now + timedelta(days=90)


def test_the_closing_rule_uses_the_wall_clock_on_a_spring_change_day():
    # Sunday 2027-03-14 (CST to CDT at 02:00), open every day: 15:00 local is the last 2-hour start.
    availability = company(tech(), hours=EVERY_DAY)
    now = at("2027-03-13", "12:00")
    assert check(availability, at("2027-03-14", "15:00"), now=now).end == at("2027-03-14", "17:00")
    with pytest.raises(SlotError, match="must start by 3:00 PM"):
        check(availability, at("2027-03-14", "15:30"), now=now)


# --- choosing the technician ------------------------------------------------------------------------------


def candidate(name, distance_m, jobs=0, origin=HOME_BASE) -> Candidate:
    return Candidate(
        technician_id=name.lower(), name=name, distance_m=distance_m, origin=origin, jobs_that_day=jobs
    )


def test_the_closest_technician_is_chosen_and_the_reason_says_from_where():
    choice = choose_technician(
        [candidate("Ben", 9_000), candidate("Ana", 4_200, jobs=3, origin=PREVIOUS_JOB)]
    )
    assert choice == Choice("ana", "closest qualified tech (4.2 km from their previous job), 3 jobs that day")


def test_near_ties_on_distance_go_to_the_lighter_day_then_to_the_name():
    choice = choose_technician([candidate("Ana", 4_000, jobs=3), candidate("Ben", 4_200, jobs=1)])
    assert choice.technician_id == "ben"
    assert choice.reason == "about as close as Ana but a lighter day (4.2 km from home base), 1 job that day"
    assert choose_technician(
        [candidate("Cy", 4_400, jobs=1), candidate("Ben", 4_300, jobs=1)]
    ).technician_id == ("ben")
    # Beyond the resolution, distance wins over workload.
    assert (
        choose_technician([candidate("Ana", 4_000, jobs=5), candidate("Ben", 5_000)]).technician_id == "ana"
    )


def test_unknown_distances_rank_last():
    choice = choose_technician([candidate("Ana", None), candidate("Ben", 30_000, jobs=6)])
    assert choice.technician_id == "ben"
    only_unknown = choose_technician([candidate("Cy", None, jobs=2), candidate("Ana", None, jobs=1)])
    assert only_unknown.technician_id == "ana"
    assert "no driving distance known" in only_unknown.reason


def test_a_single_candidate_is_chosen_and_no_candidate_means_nobody():
    assert choose_technician([candidate("Ana", 1_240)]) == Choice(
        "ana", "only qualified tech free (1.2 km from home base), no other jobs that day"
    )
    assert choose_technician([]) == Choice(None, "no qualified technician is free at that time")


def test_origin_is_the_last_job_that_day_before_the_start_else_home_else_unknown():
    yesterday = Booking(at("2026-11-08", "15:00"), at("2026-11-08", "17:00"), 30.5, -97.5)
    morning = Booking(at(MONDAY, "08:00"), at(MONDAY, "10:00"), 30.1, -97.1)
    late_morning = Booking(at(MONDAY, "10:00"), at(MONDAY, "11:30"), 30.2, -97.2)
    afternoon = Booking(at(MONDAY, "14:00"), at(MONDAY, "16:00"), 30.3, -97.3)
    ana = tech(bookings=[yesterday, morning, late_morning, afternoon], home=(30.0, -97.0))
    assert origin_for(ana, at(MONDAY, "11:30"), CHICAGO) == (30.2, -97.2, PREVIOUS_JOB)
    assert origin_for(ana, at(MONDAY, "10:00"), "America/Chicago") == (30.1, -97.1, PREVIOUS_JOB)
    assert origin_for(ana, at(MONDAY, "08:00"), CHICAGO) == (30.0, -97.0, HOME_BASE)
    assert origin_for(tech(home=None), at(MONDAY, "08:00"), CHICAGO) is None
    not_geocoded = tech(bookings=[Booking(at(MONDAY, "08:00"), at(MONDAY, "10:00"))], home=(30.0, -97.0))
    assert origin_for(not_geocoded, at(MONDAY, "12:00"), CHICAGO) is None
    assert jobs_on_day(ana, at(MONDAY, "12:00"), CHICAGO) == 3
    assert jobs_on_day(ana, at("2026-11-10", "12:00"), CHICAGO) == 0


# --- loading from the database --------------------------------------------------------------------------


async def test_load_availability_reads_active_technicians_and_jobs_holding_time_in_the_window(sessions):
    ours = Company(name=f"Slots Test {uuid.uuid4().hex[:8]}", timezone="America/Chicago")
    theirs = Company(name=f"Slots Other {uuid.uuid4().hex[:8]}")
    slug = uuid.uuid4().hex[:8]

    def person(owner, name, role=Role.technician, **fields):
        return User(company_id=owner.id, email=f"{name}-{slug}@example.com", name=name, role=role, **fields)

    ana = person(ours, "Ana", skills=["Plumbing"], home_lat=30.27, home_lng=-97.74)
    ben = person(ours, "Ben", skills=["hvac"])
    gone = person(ours, "Gone", active=False)
    manager = person(ours, "Manager", role=Role.manager)
    stranger = person(theirs, "Stranger")
    our_customer = Customer(company_id=ours.id, name="Ada")
    their_customer = Customer(company_id=theirs.id, name="Bob")

    def job(status, start=None, hours=2, user=None, customer=our_customer, **fields):
        end = start + timedelta(hours=hours) if start else None
        return Job(
            company_id=customer.company_id,
            customer_id=customer.id,
            title=f"{status} job",
            status=status,
            scheduled_start=start,
            scheduled_end=end,
            assigned_user_id=user.id if user else None,
            **fields,
        )

    window_start, window_end = at(MONDAY, "00:00"), at("2026-11-10", "00:00")
    jobs = [
        job(JobStatus.scheduled, at(MONDAY, "10:00"), user=ana, lat=30.3, lng=-97.7),
        job(JobStatus.completed, at(MONDAY, "08:00"), user=ana),
        job(JobStatus.cancelled, at(MONDAY, "13:00"), user=ana),
        job(JobStatus.scheduled, at("2026-11-08", "23:00"), hours=3, user=ben),  # runs into the window
        job(JobStatus.scheduled, at("2026-11-10", "09:00"), user=ben),  # after the window
        job(JobStatus.scheduled, at(MONDAY, "11:00")),  # unassigned
        job(JobStatus.cancelled, at(MONDAY, "11:00")),
        job(JobStatus.unscheduled),
        job(JobStatus.scheduled, at(MONDAY, "10:00"), user=stranger, customer=their_customer),
        job(JobStatus.scheduled, at(MONDAY, "12:00"), customer=their_customer),
    ]
    async with sessions() as session:
        session.add_all([ours, theirs])
        await session.flush()
        session.add_all([ana, ben, gone, manager, stranger, our_customer, their_customer])
        await session.flush()
        session.add_all(jobs)
        await session.commit()

        availability = await load_availability(session, ours, window_start, window_end)

    assert availability.timezone == "America/Chicago"
    assert availability.business_hours == ours.business_hours
    assert [t.name for t in availability.technicians] == ["Ana", "Ben"]
    loaded_ana, loaded_ben = availability.technicians
    assert loaded_ana.skills == frozenset({"plumbing"}) and (loaded_ana.home_lat, loaded_ana.home_lng) == (
        30.27,
        -97.74,
    )
    assert [(b.start, b.end) for b in loaded_ana.bookings] == [
        (at(MONDAY, "08:00"), at(MONDAY, "10:00")),
        (at(MONDAY, "10:00"), at(MONDAY, "12:00")),
    ]
    assert (loaded_ana.bookings[1].lat, loaded_ana.bookings[1].lng) == (30.3, -97.7)
    assert [(b.start, b.end) for b in loaded_ben.bookings] == [
        (at("2026-11-08", "23:00"), at(MONDAY, "02:00"))
    ]
    assert [(b.start, b.end) for b in availability.unassigned] == [(at(MONDAY, "11:00"), at(MONDAY, "13:00"))]

    # And the calendar built on it: Ana is free from 12:00, but the unassigned 11:00-13:00 job needs her.
    slots = free_slots(
        availability, required_skills=["plumbing"], duration=TWO_HOURS, now=EARLY_MONDAY, days=1
    )
    assert local_clocks(slots) == ["13:00", "13:30", "14:00", "14:30", "15:00"]
