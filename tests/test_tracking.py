"""The technician's position posts and the customer's live tracking page (`/t/{token}`, no login)."""

import time
import uuid

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from playwright.async_api import expect
from sqlmodel import select

from models.company import Company, User
from models.enums import JobStatus
from models.jobs import Job, TechnicianPosition
from models.links import quote_token
from models.tracking import (
    TRACKING_VALID,
    TrackingLinkExpired,
    TrackingLinkInvalid,
    distance_km,
    read_tracking_token,
    tracking_token,
    tracking_url,
)
from tests.browser import screenshot
from tests.test_quote_pages import PHONE

HOUSE = {"address": "4100 Speedway", "city": "Austin", "lat": 30.3055, "lng": -97.7300}
FAR = {"lat": 30.2672, "lng": -97.7431}  # downtown Austin, ~4.4 km south-south-west of the house
NEAR = {"lat": 30.2995, "lng": -97.7290}  # ~670 m away


async def _job(tenant, technician: str | None = "tech", **extra) -> dict:
    """A Scheduled job at HOUSE (coordinates given, so nothing geocodes it meanwhile)."""
    office = await tenant.client("manager")
    customer = await office.post("/v1/customers", json={"name": "Ada Lovelace", **HOUSE})
    assert customer.status_code == 201, customer.text
    body = {
        "customer_id": customer.json()["id"],
        "title": "Leaking water heater",
        "scheduled_start": "2026-12-01T09:00:00-06:00",
        **HOUSE,
        **extra,
    }
    if technician:
        body["assigned_user_id"] = str(tenant.users[technician].id)
    created = await office.post("/v1/jobs", json=body)
    assert created.status_code == 201, created.text
    return created.json()


async def _set_status(sessions, job_id, status: JobStatus) -> None:
    # Written straight to the row: these tests are about the page, not the job's workflow.
    async with sessions() as session:
        job = await session.get(Job, uuid.UUID(job_id))
        job.status = status
        session.add(job)
        await session.commit()


def _expired_token(settings, job_id, company_id) -> str:
    """A genuine token signed just over two hours ago."""

    class TwoHoursAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - TRACKING_VALID.total_seconds()) - 60

    serializer = URLSafeTimedSerializer(settings.secret_key, salt="job-tracking", signer=TwoHoursAgo)
    return serializer.dumps([str(job_id), str(company_id)])


# --- the link -------------------------------------------------------------------------------------


def test_a_tracking_token_names_its_job_and_company(settings):
    job_id, company_id = uuid.uuid4(), uuid.uuid4()
    token = tracking_token(settings, job_id, company_id)
    assert read_tracking_token(settings, token) == (job_id, company_id)
    assert tracking_url(settings, job_id, company_id) == f"{settings.public_url}/t/{token}"


def test_an_old_tracking_token_has_expired_and_a_mangled_one_is_invalid(settings):
    job_id, company_id = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(TrackingLinkExpired) as expired:
        read_tracking_token(settings, _expired_token(settings, job_id, company_id))
    assert (expired.value.job_id, expired.value.company_id) == (job_id, company_id)
    token = tracking_token(settings, job_id, company_id)
    for forged in ("nonsense", token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), token + "x"):
        with pytest.raises(TrackingLinkInvalid):
            read_tracking_token(settings, forged)
    # A quote link's signature is no tracking link (each link kind has its own salt).
    with pytest.raises(TrackingLinkInvalid):
        read_tracking_token(settings, quote_token(settings, job_id, company_id))


def test_distance_is_as_the_crow_flies():
    assert distance_km(30.0, -97.0, 30.0, -97.0) == 0
    # One degree of latitude is ~111.2 km anywhere.
    assert distance_km(30.0, -97.0, 31.0, -97.0) == pytest.approx(111.2, abs=0.1)
    assert distance_km(HOUSE["lat"], HOUSE["lng"], FAR["lat"], FAR["lng"]) == pytest.approx(4.44, abs=0.01)


# --- position posts -------------------------------------------------------------------------------


async def test_a_technician_posts_positions_for_their_own_job_and_the_latest_wins(tenant, sessions):
    job = await _job(tenant)
    tech = await tenant.client("tech")
    first = await tech.post(f"/v1/jobs/{job['id']}/position", json=FAR)
    assert first.status_code == 200, first.text
    assert first.json()["user_id"] == str(tenant.users["tech"].id)
    assert (first.json()["lat"], first.json()["lng"]) == (FAR["lat"], FAR["lng"])

    second = await tech.post(f"/v1/jobs/{job['id']}/position", json=NEAR)
    assert second.status_code == 200, second.text
    assert second.json()["recorded_at"] >= first.json()["recorded_at"]
    async with sessions() as session:
        rows = (
            await session.exec(
                select(TechnicianPosition).where(TechnicianPosition.user_id == tenant.users["tech"].id)
            )
        ).all()
    assert [(row.lat, row.lng, row.company_id) for row in rows] == [
        (NEAR["lat"], NEAR["lng"], tenant.company_id)
    ]


async def test_the_office_may_post_the_jobs_technicians_position(tenant):
    job = await _job(tenant)
    office = await tenant.client("manager")
    posted = await office.post(f"/v1/jobs/{job['id']}/position", json=NEAR)
    assert posted.status_code == 200, posted.text
    assert posted.json()["user_id"] == str(tenant.users["tech"].id)


async def test_a_technician_cannot_post_for_another_technicians_job(tenant):
    job = await _job(tenant)
    other = await tenant.client("tech2")
    refused = await other.post(f"/v1/jobs/{job['id']}/position", json=NEAR)
    assert refused.status_code == 404


async def test_another_companys_job_is_404(tenant, other_tenant):
    job = await _job(tenant)
    for who in ("tech", "manager"):
        outsider = await other_tenant.client(who)
        refused = await outsider.post(f"/v1/jobs/{job['id']}/position", json=NEAR)
        assert refused.status_code == 404, who


async def test_a_job_without_a_technician_is_409(tenant):
    job = await _job(tenant, technician=None)
    office = await tenant.client("manager")
    refused = await office.post(f"/v1/jobs/{job['id']}/position", json=NEAR)
    assert refused.status_code == 409
    assert "no technician" in refused.json()["detail"]


async def test_an_out_of_range_position_is_422(tenant):
    job = await _job(tenant)
    tech = await tenant.client("tech")
    cases = [({"lat": 91, "lng": 0}, "lat"), ({"lat": 0, "lng": -180.5}, "lng"), ({"lat": 1}, "lng")]
    for bad, field in cases:
        refused = await tech.post(f"/v1/jobs/{job['id']}/position", json=bad)
        assert refused.status_code == 422, bad
        assert refused.json()["detail"][0]["loc"] == ["body", field]


# --- the tracking page ----------------------------------------------------------------------------


async def _on_the_way(tenant, sessions, settings) -> tuple[dict, str]:
    """A job On the Way to HOUSE with "Marcus Reyes", in a branded company; the customer's link."""
    async with sessions() as session:
        technician = await session.get(User, tenant.users["tech"].id)
        technician.name = "Marcus Reyes"
        company = await session.get(Company, tenant.company_id)
        company.brand_colour, company.phone = "#0b6e4f", "+15125550100"
        session.add_all([technician, company])
        await session.commit()
    job = await _job(tenant)
    await _set_status(sessions, job["id"], JobStatus.on_the_way)
    return job, tracking_url(settings, job["id"], tenant.company_id)


async def test_the_tracking_page_follows_the_technician_until_they_arrive(
    browser,  # noqa: F811
    api_url,
    tenant,
    sessions,
    settings,
):
    job, link = await _on_the_way(tenant, sessions, settings)
    assert link.startswith(api_url + "/t/")
    tech = await tenant.client("tech")

    async with await browser.new_context(**PHONE) as phone:
        page = await phone.new_page()
        response = await page.goto(link)
        assert response.status == 200
        await expect(page.get_by_role("heading", name="Marcus is on the way")).to_be_visible()
        await expect(page.get_by_text("Waiting for Marcus's location")).to_be_visible()
        await expect(page.get_by_text("4100 Speedway, Austin")).to_be_visible()
        assert "Reyes" not in await page.locator("main").inner_text()  # first name only
        await screenshot(page, "tracking-waiting")

        assert (await tech.post(f"/v1/jobs/{job['id']}/position", json=FAR)).status_code == 200
        await page.reload()
        await expect(page.locator("#seen")).to_have_text("just now")
        await expect(page.locator("#distance")).to_contain_text("2.8 mi (4.4 km) away")
        await expect(page.locator("#map")).to_be_visible()
        await expect(page.locator("#map-svg text", has_text="Marcus")).to_have_count(1)
        maps = await page.get_by_role("link", name="Open in Maps").get_attribute("href")
        assert "destination=30.3055%2C-97.73" in maps or "destination=30.3055,-97.73" in maps
        assert "origin=30.2672" in maps
        await screenshot(page, "tracking-on-the-way")

        # The technician drives closer; the open page picks it up on its next round (every 10 s).
        assert (await tech.post(f"/v1/jobs/{job['id']}/position", json=NEAR)).status_code == 200
        await expect(page.locator("#distance")).to_contain_text("0.4 mi (670 m) away", timeout=20_000)
        await screenshot(page, "tracking-closer")

        polled = await page.request.get(link + "/position")
        assert polled.status == 200
        assert polled.headers["cache-control"] == "no-store"
        state = await polled.json()
        assert state["status"] == "on_the_way"
        assert (state["lat"], state["lng"]) == (NEAR["lat"], NEAR["lng"])
        assert state["distance_km"] == pytest.approx(0.67, abs=0.01)

        # They arrive: the page sees the status change and says so, without the position.
        await _set_status(sessions, job["id"], JobStatus.in_progress)
        await expect(page.get_by_role("heading", name="Your technician has arrived")).to_be_visible(
            timeout=20_000
        )
        await expect(page.get_by_text("Marcus is with you now.")).to_be_visible()
        await screenshot(page, "tracking-arrived")
        hidden = await (await page.request.get(link + "/position")).json()
        assert hidden == {
            "status": "in_progress",
            "lat": None,
            "lng": None,
            "recorded_at": None,
            "age_seconds": None,
            "distance_km": None,
        }


@pytest.mark.parametrize(
    ("status", "heading", "says"),
    [
        (JobStatus.completed, "The job is done", "Thank you for choosing"),
        (JobStatus.cancelled, "This visit was cancelled", "to book another time"),
        (JobStatus.scheduled, "Not on the way yet", "booked for Tuesday, December 1, 9:00 AM"),
    ],
)
async def test_the_tracking_page_says_when_the_job_is_done_cancelled_or_not_yet_under_way(
    http, tenant, sessions, settings, status, heading, says
):
    job = await _job(tenant)
    tech = await tenant.client("tech")
    await tech.post(f"/v1/jobs/{job['id']}/position", json=NEAR)
    await _set_status(sessions, job["id"], status)
    token = tracking_token(settings, job["id"], tenant.company_id)
    page = await http.get(f"/t/{token}")
    assert page.status_code == 200
    assert heading in page.text and says in page.text
    assert str(NEAR["lat"]) not in page.text  # where the technician is now is not the customer's business
    state = (await http.get(f"/t/{token}/position")).json()
    assert state["status"] == status.value and state["lat"] is None


async def test_an_expired_tracking_link_says_so_with_410(browser, http, tenant, sessions, settings):  # noqa: F811
    job, _ = await _on_the_way(tenant, sessions, settings)
    token = _expired_token(settings, job["id"], tenant.company_id)
    page = await http.get(f"/t/{token}")
    assert page.status_code == 410
    assert "This tracking link has expired" in page.text
    assert tenant.company.name in page.text  # still the company's page, with its phone number
    polled = await http.get(f"/t/{token}/position")
    assert polled.status_code == 410

    async with await browser.new_context(**PHONE) as phone:
        tab = await phone.new_page()
        response = await tab.goto(f"{settings.public_url}/t/{token}")
        assert response.status == 410
        await expect(tab.get_by_role("heading", name="This tracking link has expired")).to_be_visible()
        await screenshot(tab, "tracking-expired")


async def test_a_forged_tracking_link_is_404(browser, http, tenant, settings):  # noqa: F811
    job = await _job(tenant)
    token = tracking_token(settings, job["id"], tenant.company_id)
    mangled = token[:-3] + ("abc" if token[-3:] != "abc" else "xyz")
    for forged in ("nonsense", mangled):
        page = await http.get(f"/t/{forged}")
        assert page.status_code == 404
        assert "not valid" in page.text
        assert (await http.get(f"/t/{forged}/position")).status_code == 404

    async with await browser.new_context(**PHONE) as phone:
        tab = await phone.new_page()
        response = await tab.goto(f"{settings.public_url}/t/nonsense")
        assert response.status == 404
        await expect(tab.get_by_role("heading", name="Link not valid")).to_be_visible()
        await screenshot(tab, "tracking-invalid")


async def test_a_signed_link_naming_another_companys_job_is_404(http, tenant, other_tenant, settings):
    job = await _job(tenant)
    token = tracking_token(settings, job["id"], other_tenant.company_id)  # genuine, but not the job's company
    page = await http.get(f"/t/{token}")
    assert page.status_code == 404
    assert "not valid" in page.text and tenant.company.name not in page.text
    assert (await http.get(f"/t/{token}/position")).status_code == 404
    expired = _expired_token(settings, job["id"], other_tenant.company_id)
    page = await http.get(f"/t/{expired}")
    assert page.status_code == 410 and tenant.company.name not in page.text


async def test_a_job_not_yet_geocoded_shows_the_technician_without_a_distance(
    http, tenant, sessions, settings
):
    job = await _job(tenant)
    async with sessions() as session:
        row = await session.get(Job, uuid.UUID(job["id"]))
        row.lat = row.lng = None
        row.status = JobStatus.on_the_way
        session.add(row)
        await session.commit()
    tech = await tenant.client("tech")
    await tech.post(f"/v1/jobs/{job['id']}/position", json=NEAR)
    token = tracking_token(settings, job["id"], tenant.company_id)
    page = await http.get(f"/t/{token}")
    assert page.status_code == 200
    assert "is on the way" in page.text and "Distance" not in page.text
    assert "destination=4100%20Speedway" in page.text  # Maps finds the way by the address
    state = (await http.get(f"/t/{token}/position")).json()
    assert (state["lat"], state["distance_km"]) == (NEAR["lat"], None)


async def test_a_position_reported_before_the_job_went_on_the_way_is_not_shown(tenant, http, settings):
    office = await tenant.client("manager")
    job = await _job(tenant, scheduled_start="2030-02-04T15:00:00+00:00")
    tech = await tenant.client("tech")
    # Reported at the previous customer's house, before setting out for this job.
    assert (
        await tech.post(f"/v1/jobs/{job['id']}/position", json={"lat": 30.4, "lng": -97.7})
    ).status_code == 200
    moved = await office.post(f"/v1/jobs/{job['id']}/status", json={"status": "on_the_way"})
    assert moved.status_code == 200
    link = tracking_url(settings, job["id"], tenant.company_id)
    before = (await http.get("/" + link.split("/", 3)[3] + "/position")).json()
    assert before["status"] == "on_the_way" and before["lat"] is None
    assert (
        await tech.post(f"/v1/jobs/{job['id']}/position", json={"lat": 30.3, "lng": -97.7})
    ).status_code == 200
    after = (await http.get("/" + link.split("/", 3)[3] + "/position")).json()
    assert (after["lat"], after["lng"]) == (30.3, -97.7)
