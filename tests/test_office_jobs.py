"""The office's job, schedule, invoice and inventory pages in a real browser (and over HTTP where no
browser is needed): each change goes through the /v1 API, so the workflow and its rules are the API's."""

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import expect

from models.enums import Channel, MessageStatus
from models.logs import MessageLog
from tests.browser import screenshot, signed_in_page


async def snap(page, name: str) -> None:
    """A full-page screenshot from the top, so the sticky header sits where it belongs."""
    await page.evaluate("window.scrollTo(0, 0)")
    await screenshot(page, name)


def local_moment(tenant, days: int, hour: int, minute: int = 0) -> datetime:
    """`days` from today at `hour:minute` on the company's clock."""
    zone = ZoneInfo(tenant.company.timezone)
    day = datetime.now(zone).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


async def make_job(
    office, tenant, title: str, who: str | None = "tech", start: datetime | None = None
) -> dict:
    customer = await office.post("/v1/customers", json={"name": f"{title} customer", "city": "Austin"})
    assert customer.status_code == 201, customer.text
    body = {"customer_id": customer.json()["id"], "title": title}
    if who:
        body["assigned_user_id"] = str(tenant.users[who].id)
    if start:
        body["scheduled_start"] = start.isoformat()
    response = await office.post("/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_job_list_filters_sorts_and_shows_technicians_only_their_own(tenant):
    office = await tenant.client("manager")
    mine = await make_job(office, tenant, "Mine: water heater", start=local_moment(tenant, 1, 9))
    await make_job(office, tenant, "Theirs: sump pump", who="tech2", start=local_moment(tenant, 2, 9))
    await make_job(office, tenant, "Nobody's: estimate", who=None)

    everything = await office.get("/jobs")
    assert everything.status_code == 200
    for title in ("Mine: water heater", "Theirs: sump pump", "Nobody&#39;s: estimate"):
        assert title in everything.text
    unscheduled = (await office.get("/jobs", params={"status": "unscheduled"})).text
    assert "Nobody&#39;s: estimate" in unscheduled and "Mine: water heater" not in unscheduled
    tomorrow = local_moment(tenant, 1, 0).date().isoformat()
    one_day = (await office.get("/jobs", params={"on_or_after": tomorrow, "on_or_before": tomorrow})).text
    assert "Mine: water heater" in one_day and "Theirs: sump pump" not in one_day
    latest_first = (await office.get("/jobs", params={"sort": "-scheduled_start"})).text
    assert latest_first.index("Theirs: sump pump") < latest_first.index("Mine: water heater")

    tech = await tenant.client("tech")
    own = await tech.get("/jobs")
    assert "Mine: water heater" in own.text and "Theirs" not in own.text and "Nobody" not in own.text
    assert (await tech.get(f"/jobs/{mine['id']}")).status_code == 200
    theirs = (await tech.get("/jobs", params={"technician": str(tenant.users["tech2"].id)})).text
    assert "Theirs: sump pump" not in theirs
    bad = await office.get("/jobs", params={"on_or_after": "next tuesday"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "on_or_after"]


async def test_new_job_form_books_a_job_on_the_companys_clock(browser, api_url, tenant):
    office = await tenant.client("manager")
    customer = (await office.post("/v1/customers", json={"name": "Grace Hopper", "city": "Austin"})).json()
    start = local_moment(tenant, 2, 10)

    page = await signed_in_page(browser, api_url, tenant.users["manager"].email)
    await page.goto(f"{api_url}/jobs")
    await page.get_by_role("link", name="New job").click()
    await page.get_by_label("Customer").select_option(label="Grace Hopper · Austin")
    await page.get_by_label("Title").fill("Tankless install")
    await page.get_by_label("Starts").fill(start.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_label("Ends").fill(start.replace(hour=9).strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_label("Technician", exact=True).select_option(label=tenant.users["tech"].name)
    await page.get_by_role("button", name="Create job").click()
    ends_error = page.locator("#scheduled_end + .field-error")  # beside the field that caused it
    await expect(ends_error).to_contain_text("scheduled_end must be after scheduled_start")
    await snap(page, "office-job-new")

    await page.get_by_label("Ends").fill("")
    await page.get_by_role("button", name="Create job").click()
    await page.wait_for_url(lambda url: "/jobs/new" not in url and "/jobs/" in url)
    await expect(page.locator("h1 .badge")).to_have_text("Scheduled")
    created = (await office.get(f"/v1/jobs/{page.url.rsplit('/', 1)[1]}")).json()
    assert created["customer_id"] == customer["id"] and created["title"] == "Tankless install"
    assert datetime.fromisoformat(created["scheduled_start"]) == start
    assert datetime.fromisoformat(created["scheduled_end"]) == start + timedelta(hours=1)
    assert created["assigned_user_id"] == str(tenant.users["tech"].id)
    await page.context.close()


async def test_job_page_moves_reschedules_and_reassigns_through_the_api(browser, api_url, tenant, sessions):
    office = await tenant.client("manager")
    start = local_moment(tenant, 3, 9)
    job = await make_job(office, tenant, "Replace water heater", start=start)
    async with sessions() as session:  # a text the job's day sent (its automation is off in this company)
        session.add(
            MessageLog(
                company_id=tenant.company_id,
                customer_id=uuid.UUID(job["customer_id"]),
                channel=Channel.sms,
                to_address="+15125550199",
                body="Your technician is on the way.",
                purpose="omw",
                workflow_id=job["workflow_id"],
                status=MessageStatus.delivered,
            )
        )
        await session.commit()
    booked = await make_job(office, tenant, "Already booked", start=local_moment(tenant, 4, 14))

    page = await signed_in_page(browser, api_url, tenant.users["manager"].email)
    await page.goto(f"{api_url}/jobs")
    await snap(page, "office-jobs")
    await page.get_by_role("link", name="Replace water heater").click()
    await page.wait_for_url(f"**/jobs/{job['id']}")
    moves = page.get_by_label("Move this job")
    await expect(moves.get_by_role("button")).to_have_text(
        ["On the way", "Start work", "Unschedule", "Cancel job"]
    )
    await expect(page.get_by_text(start.strftime("%A, %B %-d, 9:00 AM"))).to_be_visible()
    await expect(page.get_by_role("link", name="Open in the Temporal Web UI")).to_have_attribute(
        "href", job["workflow_url"]
    )
    messages = page.locator("section", has=page.get_by_role("heading", name="Messages"))
    await expect(messages.locator("tbody tr")).to_contain_text(["Your technician is on the way."])
    await expect(messages.locator("tbody tr")).to_contain_text(["delivered"])
    await snap(page, "office-job")

    await moves.get_by_role("button", name="On the way").click()
    await expect(page.locator("h1 .badge")).to_have_text("On the way")
    assert (await office.get(f"/v1/jobs/{job['id']}")).json()["status"] == "on_the_way"
    await expect(moves.get_by_role("button")).to_have_text(["Start work", "Back to scheduled", "Cancel job"])
    await moves.get_by_role("button", name="Back to scheduled").click()
    await expect(page.locator("h1 .badge")).to_have_text("Scheduled")

    # A new start, typed on the company's clock, moves the whole visit (its hour-long length kept).
    new_start = local_moment(tenant, 4, 15, 30)
    await page.get_by_label("Starts").fill(new_start.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_role("button", name="Reschedule").click()
    await expect(page.get_by_text(new_start.strftime("%A, %B %-d, 3:30 PM"))).to_be_visible()
    moved = (await office.get(f"/v1/jobs/{job['id']}")).json()
    assert datetime.fromisoformat(moved["scheduled_start"]) == new_start
    assert datetime.fromisoformat(moved["scheduled_end"]) == new_start + timedelta(hours=1)

    # Onto the technician's other job: the API's refusal is shown in the form, and nothing moves.
    await page.get_by_label("Starts").fill(local_moment(tenant, 4, 14).strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_role("button", name="Reschedule").click()
    await expect(page.locator("#schedule-form .error")).to_contain_text("already")
    assert (await office.get(f"/v1/jobs/{job['id']}")).json()["scheduled_start"] == moved["scheduled_start"]
    assert booked["id"] != job["id"]

    await page.get_by_label("Assigned to").select_option(label=tenant.users["tech2"].name)
    await page.get_by_role("button", name="Reassign").click()
    await expect(page.get_by_text(tenant.users["tech2"].name, exact=True).first).to_be_visible()
    reassigned = (await office.get(f"/v1/jobs/{job['id']}")).json()
    assert reassigned["assigned_user_id"] == str(tenant.users["tech2"].id)

    page.once("dialog", lambda dialog: dialog.accept())
    await moves.get_by_role("button", name="Cancel job").click()
    await expect(page.locator("h1 .badge")).to_have_text("Cancelled")
    await expect(moves.get_by_role("button")).to_have_text(["Reopen"])
    await expect(page.get_by_role("button", name="Reschedule")).to_have_count(0)
    await page.context.close()


async def test_job_page_logs_a_part_flags_negative_stock_and_undoes_it(browser, api_url, tenant):
    office = await tenant.client("owner")
    ring = await office.post("/v1/inventory", json={"name": "Wax ring", "sku": "WR-1", "quantity": 1})
    assert ring.status_code == 201, ring.text
    job = await make_job(office, tenant, "Toilet reset", start=local_moment(tenant, 1, 10))

    page = await signed_in_page(browser, api_url, tenant.users["tech"].email)  # on their own job
    await page.goto(f"{api_url}/jobs/{job['id']}")
    await expect(page.get_by_role("button", name="Reschedule")).to_have_count(0)  # office only
    await page.get_by_label("Part", exact=True).select_option(label="Wax ring · WR-1 · 1 in stock")
    await page.get_by_label("Quantity").fill("3")
    await page.get_by_label("Note").fill("old flange crumbled")
    await page.get_by_role("button", name="Log part").click()
    parts = page.locator("section", has=page.get_by_role("heading", name="Parts used"))
    row = parts.locator("tbody tr", has_text="Wax ring")
    await expect(row).to_contain_text("old flange crumbled")
    await expect(row.locator(".stock.negative")).to_have_text("−2")
    await expect(row.locator(".badge.low")).to_have_text("Negative")
    await expect(page.locator("section", has=page.get_by_role("heading", name="Line items"))).to_contain_text(
        "Wax ring"
    )
    await snap(page, "office-job-parts")

    page.once("dialog", lambda dialog: dialog.accept())
    await row.get_by_role("button", name="Undo").click()
    await expect(parts.get_by_text("No parts logged on this job.")).to_be_visible()
    assert (await office.get(f"/v1/inventory/{ring.json()['id']}")).json()["quantity"] == 1
    await page.context.close()


async def test_a_job_the_technician_completes_from_its_page_links_to_its_invoice(browser, api_url, tenant):
    office = await tenant.client("owner")
    item = {"name": "Pleated filter", "sku": "PF-1", "quantity": 5}
    stocked = await office.post("/v1/inventory", json=item)
    assert stocked.status_code == 201, stocked.text
    job = await make_job(office, tenant, "Filter change", start=local_moment(tenant, 1, 9))

    page = await signed_in_page(browser, api_url, tenant.users["tech"].email)
    await page.goto(f"{api_url}/jobs/{job['id']}")
    await page.get_by_label("Part", exact=True).select_option(label="Pleated filter · PF-1 · 5 in stock")
    await page.get_by_role("button", name="Log part").click()
    await expect(page.locator("section", has=page.get_by_role("heading", name="Parts used"))).to_contain_text(
        "Pleated filter"
    )
    for move, status in (
        ("On the way", "On the way"),
        ("Start work", "In progress"),
        ("Mark completed", "Completed"),
    ):
        await page.get_by_role("button", name=move, exact=True).click()
        await expect(page.locator("h1 .badge")).to_have_text(status)  # the page reloads with the new status
    for _ in range(50):  # the page shows the day as it stood on load: billing takes a moment
        if "Done: invoiced" in await page.locator("[data-stage]").inner_text():
            break
        await page.wait_for_timeout(200)
        await page.reload()
    await expect(page.locator("[data-stage]")).to_contain_text("Done: invoiced")
    await page.context.close()

    office_page = await signed_in_page(browser, api_url, tenant.users["manager"].email)
    await office_page.goto(f"{api_url}/jobs/{job['id']}")
    await office_page.locator("dt:has-text('Invoice') + dd a").click()
    await expect(office_page.locator("section", has_text="Line items")).to_contain_text("Pleated filter")
    await office_page.context.close()


async def test_schedule_shows_each_technicians_day_and_week_on_the_companys_clock(browser, api_url, tenant):
    office = await tenant.client("manager")
    morning = await make_job(office, tenant, "Morning flush", start=local_moment(tenant, 1, 9))
    await make_job(office, tenant, "Afternoon repipe", who="tech2", start=local_moment(tenant, 1, 13, 30))
    late = await make_job(office, tenant, "Late leak", start=local_moment(tenant, 1, 20))
    await make_job(office, tenant, "Estimate visit", who="manager", start=local_moment(tenant, 1, 11))
    moved = await office.post(f"/v1/jobs/{morning['id']}/status", json={"status": "on_the_way"})
    assert moved.status_code == 200, moved.text
    day = local_moment(tenant, 1, 0).date().isoformat()

    page = await signed_in_page(browser, api_url, tenant.users["manager"].email)
    await page.goto(f"{api_url}/schedule?view=day&day={day}")
    tech_row = page.locator(".day-col", has_text=tenant.users["tech"].name)
    await expect(tech_row.locator(".slot")).to_have_count(2)
    await expect(tech_row.locator(".slot.st-on_the_way")).to_contain_text("9:00 Morning flush")
    await expect(tech_row.locator(".slot.st-scheduled")).to_contain_text("8:00 Late leak")
    tech2_row = page.locator(".day-col", has_text=tenant.users["tech2"].name)
    await expect(tech2_row.locator(".slot")).to_contain_text("1:30 Afternoon repipe")
    manager_column = page.locator(".day-col", has_text=tenant.users["manager"].name)  # not a technician
    await expect(manager_column.locator(".slot")).to_contain_text("11:00 Estimate visit")
    await expect(page.locator(".hour-labels span").last).to_have_text("8 PM")  # widened for the 8 PM job
    await snap(page, "office-schedule-day")

    await page.get_by_role("link", name="Week").click()
    column = (datetime.fromisoformat(day).weekday()) + 2  # the technician's name is the first cell
    cell = page.locator("tbody tr", has_text=tenant.users["tech"].name).locator(f"td:nth-child({column})")
    await expect(cell.locator(".slot")).to_have_text(["9:00 AM Morning flush", "8:00 PM Late leak"])
    await snap(page, "office-schedule-week")
    await page.get_by_role("link", name=late["title"]).first.click()
    await page.wait_for_url(f"**/jobs/{late['id']}")
    await page.context.close()

    tech2 = await tenant.client("tech2")
    own = await tech2.get("/schedule", params={"day": day})
    assert "Afternoon repipe" in own.text and "Morning flush" not in own.text
    assert tenant.users["tech"].name not in own.text


async def test_invoice_page_sends_records_a_check_and_voids_after_confirmation(
    browser, api_url, tenant, healthy_sandbox
):
    office = await tenant.client("manager")
    customer = await office.post("/v1/customers", json={"name": "Ada Lovelace", "email": "ada@example.com"})
    lines = [{"description": "Water heater flush", "unit_price_cents": 18_900}]
    body = {"customer_id": customer.json()["id"], "line_items": lines}
    to_pay = (await office.post("/v1/invoices", json=body)).json()
    to_void = (await office.post("/v1/invoices", json=body)).json()

    page = await signed_in_page(browser, api_url, tenant.users["manager"].email)
    await page.goto(f"{api_url}/invoices")
    await expect(page.get_by_role("link", name=f"#{to_pay['number']}")).to_be_visible()
    await expect(page.get_by_role("link", name="Draft 2")).to_be_visible()
    await snap(page, "office-invoices")
    await page.get_by_role("link", name=f"#{to_pay['number']}").click()
    await expect(page.get_by_text("Send the invoice to give the customer their private link")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Send invoice").click()
    await expect(page.locator("h1 .badge")).to_have_text("Sent")
    link = await page.locator("[data-pay-link]").get_attribute("href")
    assert "/i/" in link
    await snap(page, "office-invoice")

    await page.get_by_label("Paid by").select_option("check")
    await page.get_by_label("Reference").fill("Check #1042")
    await page.get_by_role("button", name="Mark paid · $204.59").click()
    await expect(page.locator("h1 .badge")).to_have_text("Paid")
    payments = page.locator("section", has=page.get_by_role("heading", name="Payments"))
    await expect(payments.locator("tbody tr")).to_contain_text(["Check #1042"])
    await expect(page.get_by_role("button", name="Void")).to_have_count(0)  # a paid invoice stays paid
    paid = (await office.get(f"/v1/invoices/{to_pay['id']}")).json()
    assert paid["status"] == "paid" and paid["balance_due_cents"] == 0

    await page.goto(f"{api_url}/invoices/{to_void['id']}")
    asked = []

    async def decline(dialog):
        asked.append(dialog.message)
        await dialog.dismiss()

    page.once("dialog", decline)
    await page.get_by_role("button", name="Void").click()
    assert len(asked) == 1 and f"Void invoice #{to_void['number']}?" in asked[0]
    assert (await office.get(f"/v1/invoices/{to_void['id']}")).json()["status"] == "draft"
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Void").click()
    await expect(page.locator("h1 .badge")).to_have_text("Void")
    await page.context.close()


async def test_inventory_flags_low_and_negative_stock_and_items_are_added_and_edited(
    browser, api_url, tenant
):
    office = await tenant.client("owner")
    supplier = (await office.post("/v1/suppliers", json={"name": "Ferguson"})).json()
    for name, sku, quantity, reorder_point in (
        ("PEX 1/2in", "PEX-12", 40, 10),
        ("Ball valve", "BV-34", 2, 5),
        ("Wax ring", "WR-1", 1, 0),
    ):
        body = {"name": name, "sku": sku, "quantity": quantity, "reorder_point": reorder_point}
        created = await office.post("/v1/inventory", json=body | {"supplier_id": supplier["id"]})
        assert created.status_code == 201, created.text
        if sku == "WR-1":
            ring = created.json()
    job = await make_job(office, tenant, "Toilet reset", start=local_moment(tenant, 1, 10))
    used = await office.post(
        f"/v1/jobs/{job['id']}/parts", json={"inventory_item_id": ring["id"], "quantity": 3}
    )
    assert used.status_code == 201, used.text

    page = await signed_in_page(browser, api_url, tenant.users["manager"].email)
    await page.goto(f"{api_url}/inventory")
    rows = page.locator("tbody tr")
    await expect(rows.filter(has_text="Ball valve").locator(".badge")).to_have_text("Low")
    await expect(rows.filter(has_text="Wax ring").locator(".stock")).to_have_text("−2")
    await expect(rows.filter(has_text="Wax ring").locator(".badge")).to_have_text("Negative")
    await expect(rows.filter(has_text="PEX 1/2in").locator(".badge")).to_have_count(0)
    await expect(page.locator(".notice")).to_contain_text("2 items at or below the reorder point")
    await snap(page, "office-inventory")
    await page.get_by_role("link", name="Low stock 2").click()
    await expect(rows.locator("td:first-child")).to_have_text(["Ball valve", "Wax ring"])

    await page.get_by_text("Add an item").click()
    await page.get_by_label("Name").fill("Flapper")
    await page.get_by_label("SKU").fill("FL-2")
    await page.get_by_label("In stock").fill("12")
    await page.get_by_label("Reorder point").fill("4")
    await page.get_by_label("Unit cost ($)").fill("4.25")
    await page.get_by_label("Selling price ($)").fill("9.50")
    await page.get_by_role("button", name="Add item").click()
    await page.wait_for_url(lambda url: "/inventory/" in url and not url.endswith("inventory"))
    item_id = page.url.rsplit("/", 1)[1]
    added = (await office.get(f"/v1/inventory/{item_id}")).json()
    assert (added["quantity"], added["unit_cost_cents"], added["price_cents"]) == (12, 425, 950)

    await page.get_by_label("Reorder point").fill("15")
    await page.get_by_label("Par level").fill("10")  # a par level must be above the reorder point
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("#par_level + .field-error")).to_contain_text("above the reorder point")
    await page.get_by_label("Par level").fill("30")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator(".metric .badge")).to_have_text("Low")
    edited = (await office.get(f"/v1/inventory/{item_id}")).json()
    assert (edited["reorder_point"], edited["par_level"], edited["price_cents"]) == (15, 30, 950)
    await snap(page, "office-inventory-item")

    await page.goto(f"{api_url}/inventory/suppliers")
    await page.get_by_text("Add a supplier").click()
    await page.get_by_label("Name").fill("Winsupply")
    await page.get_by_label("Email").fill("orders@winsupply.example")
    await page.get_by_label("Phone").fill("12")
    await page.get_by_role("button", name="Add supplier").click()
    await expect(page.locator("#s-phone + .field-error")).to_contain_text("must be a phone number")
    await page.get_by_label("Phone").fill("512-555-0100")
    await page.get_by_role("button", name="Add supplier").click()
    await page.wait_for_url("**/inventory/suppliers/*")
    await expect(page.get_by_role("heading", name="Winsupply", exact=True)).to_be_visible()
    await snap(page, "office-supplier")
    await page.context.close()


async def test_purchase_order_is_sent_then_received_in_part_and_then_in_full(
    browser, api_url, tenant, healthy_sandbox
):
    office = await tenant.client("owner")
    supplier = (
        await office.post("/v1/suppliers", json={"name": "Ferguson", "email": "orders@ferguson.example"})
    ).json()
    pex = {"name": "PEX 1/2in", "sku": "PEX-12", "quantity": 40, "unit_cost_cents": 85}
    pex = (await office.post("/v1/inventory", json=pex)).json()
    valve = {"name": "Ball valve", "sku": "BV-34", "quantity": 2, "unit_cost_cents": 1240}
    valve = (await office.post("/v1/inventory", json=valve)).json()

    page = await signed_in_page(browser, api_url, tenant.users["manager"].email)
    await page.goto(f"{api_url}/purchase-orders")
    await page.get_by_text("Start a purchase order").click()
    await page.get_by_role("button", name="Start draft").click()
    await page.wait_for_url("**/purchase-orders/*")
    for label, quantity in (
        ("PEX 1/2in · PEX-12 · 40 in stock", "20"),
        ("Ball valve · BV-34 · 2 in stock", "10"),
    ):
        await page.get_by_label("Item", exact=True).select_option(label=label)
        await page.get_by_label("Quantity").fill(quantity)
        await page.get_by_role("button", name="Add line").click()
        await expect(page.locator("tbody tr", has_text=label.split(" · ")[0])).to_be_visible()
    await page.get_by_label("Item", exact=True).select_option(label="PEX 1/2in · PEX-12 · 40 in stock")
    await page.get_by_role("button", name="Add line").click()  # the same item twice: the API says no
    await expect(page.locator("#inventory_item_id + .field-error")).to_contain_text("already on the order")
    await snap(page, "office-purchase-order-draft")

    await expect(page.locator("dl.facts")).to_contain_text("$141.00")  # 20 × $0.85 + 10 × $12.40
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Send to supplier").click()
    await expect(page.locator("h1 .badge")).to_have_text("Sent")
    await page.get_by_label("PEX 1/2in arrived now").fill("5")
    await page.get_by_role("button", name="Receive these").click()
    pex_row = page.locator("tbody tr", has_text="PEX 1/2in")
    await expect(pex_row.locator("td").nth(2)).to_have_text("5")
    await expect(page.locator("h1 .badge")).to_have_text("Sent")  # 15 PEX and 10 valves still to come
    assert (await office.get(f"/v1/inventory/{pex['id']}")).json()["quantity"] == 45
    await snap(page, "office-purchase-order-partial")

    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Everything arrived").click()
    await expect(page.locator("h1 .badge")).to_have_text("Received")
    assert (await office.get(f"/v1/inventory/{pex['id']}")).json()["quantity"] == 60
    assert (await office.get(f"/v1/inventory/{valve['id']}")).json()["quantity"] == 12
    await page.goto(f"{api_url}/purchase-orders")
    await expect(page.locator("tbody tr").first).to_contain_text("Received")
    await expect(page.locator("tbody tr").first).to_contain_text(supplier["name"])
    await snap(page, "office-purchase-orders")

    await page.get_by_text("Start a purchase order").click()
    await page.get_by_role("button", name="Start draft").click()
    await page.wait_for_url("**/purchase-orders/*")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Cancel order").click()
    await expect(page.locator("h1 .badge")).to_have_text("Cancelled")
    await page.context.close()


async def test_another_companys_records_are_not_found_on_every_page(tenant, other_tenant):
    office = await tenant.client("owner")
    job = await make_job(office, tenant, "Private", start=local_moment(tenant, 1, 9))
    customer_id = job["customer_id"]
    invoice = (await office.post("/v1/invoices", json={"customer_id": customer_id})).json()
    supplier = (await office.post("/v1/suppliers", json={"name": "Ferguson"})).json()
    item = (await office.post("/v1/inventory", json={"name": "PEX", "sku": "PEX"})).json()
    order = (await office.post("/v1/purchase-orders", json={"supplier_id": supplier["id"]})).json()
    intruder = await other_tenant.client("owner")
    tomorrow = local_moment(tenant, 1, 0).date().isoformat()
    for path in (
        f"/jobs/{job['id']}",
        f"/dispatch/cards/{job['id']}?day={tomorrow}",
        f"/invoices/{invoice['id']}",
        f"/inventory/{item['id']}",
        f"/inventory/suppliers/{supplier['id']}",
        f"/purchase-orders/{order['id']}",
    ):
        assert (await intruder.get(path)).status_code == 404, path
        assert (await office.get(path)).status_code == 200, path
    for listing in ("/jobs", "/invoices", "/inventory", "/purchase-orders", "/schedule", "/dispatch"):
        seen = await intruder.get(listing, params={"day": tomorrow})
        assert seen.status_code == 200 and "Private" not in seen.text and "Ferguson" not in seen.text, listing
