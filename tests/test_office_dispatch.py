"""The dispatch board in real browsers: a card dragged to another column changes the job's status through
its workflow and every other open board follows live (server-sent events); a move the job's state machine
refuses snaps back with the reason."""

from playwright.async_api import expect

from tests.browser import signed_in_page
from tests.test_office_jobs import local_moment, make_job, snap


def card(page, job: dict):
    return page.locator(f'.job-card[data-job-id="{job["id"]}"]')


def column(page, status: str):
    return page.locator(f'[data-column][data-status="{status}"]')


async def test_dragging_a_card_moves_the_job_and_another_open_board_follows_live(browser, api_url, tenant):
    office = await tenant.client("owner")
    leak = await make_job(office, tenant, "Kitchen leak", start=local_moment(tenant, 0, 9))
    heater = await make_job(office, tenant, "Heater check", who="tech2", start=local_moment(tenant, 0, 11))
    pile = await make_job(office, tenant, "Quote visit", who=None)
    later = await make_job(office, tenant, "Next week's job", start=local_moment(tenant, 7, 9))

    dispatcher = await signed_in_page(browser, api_url, tenant.users["manager"].email)
    watcher = await signed_in_page(browser, api_url, tenant.users["owner"].email)
    for page in (dispatcher, watcher):
        await page.goto(f"{api_url}/dispatch")
        await expect(page.locator("[data-live]")).to_have_text("live")
    await expect(column(dispatcher, "scheduled").locator(".job-card-title")).to_have_text(
        ["Kitchen leak", "Heater check"]
    )
    await expect(card(dispatcher, pile)).to_be_visible()
    await expect(column(dispatcher, "unscheduled")).to_contain_text("Quote visit")
    await expect(card(dispatcher, later)).to_have_count(0)  # another day's board
    await snap(dispatcher, "office-dispatch")

    await card(dispatcher, leak).drag_to(column(dispatcher, "on_the_way"))
    await expect(column(dispatcher, "on_the_way").locator(card(dispatcher, leak))).to_be_visible()
    await expect(column(watcher, "on_the_way").locator(card(watcher, leak))).to_be_visible()
    await expect(column(watcher, "on_the_way").locator("[data-count]")).to_have_text("1")
    await expect(column(watcher, "scheduled").locator("[data-count]")).to_have_text("1")
    assert (await office.get(f"/v1/jobs/{leak['id']}")).json()["status"] == "on_the_way"

    # On the way → Completed skips the work itself: refused, and the card goes back where it was.
    await card(dispatcher, leak).drag_to(column(dispatcher, "completed"))
    await expect(dispatcher.locator(".toast")).to_contain_text("a job cannot go from on_the_way to completed")
    await expect(column(dispatcher, "on_the_way").locator(card(dispatcher, leak))).to_be_visible()
    await expect(column(dispatcher, "completed").locator(".job-card")).to_have_count(0)
    await snap(dispatcher, "office-dispatch-refused")
    assert (await office.get(f"/v1/jobs/{leak['id']}")).json()["status"] == "on_the_way"

    # Without a mouse: the card's "Move to" list does the same.
    await card(dispatcher, leak).get_by_label("Move Kitchen leak to").select_option("in_progress")
    await expect(column(watcher, "in_progress").locator(card(watcher, leak))).to_be_visible()

    # A change made elsewhere (a technician on their phone) reaches both boards.
    tech2 = await tenant.client("tech2")
    moved = await tech2.post(f"/v1/jobs/{heater['id']}/status", json={"status": "on_the_way"})
    assert moved.status_code == 200, moved.text
    for page in (dispatcher, watcher):
        await expect(column(page, "on_the_way").locator(card(page, heater))).to_be_visible()
    await snap(watcher, "office-dispatch-live")
    await dispatcher.set_viewport_size({"width": 390, "height": 844})  # a phone: columns stack
    await expect(dispatcher.get_by_role("button", name="Menu")).to_be_visible()
    await snap(dispatcher, "office-dispatch-phone")
    for page in (dispatcher, watcher):
        await page.context.close()


async def test_dispatch_board_is_for_the_office(tenant):
    tech = await tenant.client("tech")
    assert (await tech.get("/dispatch")).status_code == 404
    office = await tenant.client("manager")
    job = await make_job(office, tenant, "Card", start=local_moment(tenant, 0, 10))
    assert (await tech.get(f"/dispatch/cards/{job['id']}")).status_code == 404
    shown = await office.get(f"/dispatch/cards/{job['id']}")
    assert shown.status_code == 200 and 'data-status="scheduled"' in shown.text
    other_day = local_moment(tenant, 1, 0).date().isoformat()
    assert (await office.get(f"/dispatch/cards/{job['id']}", params={"day": other_day})).status_code == 204
