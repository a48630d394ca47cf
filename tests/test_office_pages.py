"""The office pages of engineer A in a real browser: dashboard, customers, quotes, team, messages, settings,
and the AI banner; plus the quote editor's pricing endpoint."""

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import expect
from sqlmodel import delete
from temporalio.worker import Worker

from activities.ai import BREAKER_THRESHOLD, AiRequest
from models.customers import Equipment, Property
from models.enums import ActionOutcome
from models.logs import ActionLog, AutomationSetting
from models.notifications import Notification
from models.providers import AiProviderState
from models.time import company_today
from tests.ai_probe import AiProbeWorkflow
from tests.browser import screenshot, signed_in_page
from worker import Deps, build_activities

UUID = r"[0-9a-f-]{36}"


def accept_dialogs(page) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


async def _created(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


# --- the quote editor's pricing endpoint ---


async def test_price_preview_prices_lines_as_the_saved_quote_is_priced(tenant, other_tenant):
    office = await tenant.client("manager")
    service = await _created(
        await office.post("/v1/services", json={"name": "Install", "price_cents": 120_000})
    )
    customer = await _created(await office.post("/v1/customers", json={"name": "Ada"}))
    lines = [
        {"service_id": service["id"]},
        {"description": "Haul away", "unit_price_cents": 7_500, "optional": True},
        {"description": "Permit", "unit_price_cents": 5_000, "taxable": False},
        {
            "description": "5-year warranty",
            "unit_price_cents": 20_000,
            "optional": True,
            "option_group": "better",
        },
        {"description": "1-year warranty", "unit_price_cents": 0, "optional": True, "option_group": "good"},
    ]

    price = await _created(await office.post("/v1/quotes/price", json={"line_items": lines}))
    saved = await _created(
        await office.post(
            "/v1/quotes", json={"customer_id": customer["id"], "title": "Heater", "line_items": lines}
        )
    )

    assert price["line_amounts_cents"] == [line["amount_cents"] for line in saved["line_items"]]
    assert (price["subtotal_cents"], price["tax_cents"], price["total_cents"]) == (
        saved["subtotal_cents"],
        saved["tax_cents"],
        saved["total_cents"],
    )
    # 1,200 + 75 taxable at 8.25 % plus a 50 permit; each option adds its line (taxed) to that.
    assert (price["tax_rate_bps"], price["total_cents"]) == (825, 143_019)
    assert [(o["option_group"], o["total_cents"]) for o in price["options"]] == [
        ("good", 143_019),
        ("better", 164_669),
    ]

    # A draft is priced at its own rate, kept from when it was made.
    owner = await tenant.client("owner")
    await _created(await owner.patch("/v1/company", json={"tax_rate_bps": 0}))
    draft = await _created(
        await office.post("/v1/quotes/price", json={"quote_id": saved["id"], "line_items": lines})
    )
    assert draft["total_cents"] == saved["total_cents"]
    fresh = await _created(await office.post("/v1/quotes/price", json={"line_items": lines}))
    assert fresh["tax_cents"] == 0

    bad = await office.post("/v1/quotes/price", json={"line_items": [{"quantity": 2}]})
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["detail"]} == {
        ("body", "line_items", 0, "description"),
        ("body", "line_items", 0, "unit_price_cents"),
    }
    intruder = await other_tenant.client("manager")
    theirs = await intruder.post("/v1/quotes/price", json={"quote_id": saved["id"], "line_items": []})
    assert theirs.status_code == 422 and theirs.json()["detail"][0]["loc"] == ["body", "quote_id"]
    foreign_service = await intruder.post(
        "/v1/quotes/price", json={"line_items": [{"service_id": service["id"]}]}
    )
    assert foreign_service.json()["detail"][0]["loc"] == ["body", "line_items", 0, "service_id"]
    technician = await tenant.client("tech")
    assert (await technician.post("/v1/quotes/price", json={"line_items": []})).status_code == 403


# --- the pages with a business's data in them ---


async def seed_business(tenant, sessions) -> dict:
    """A customer with history: a paid invoice, an overdue one, a sent quote, a job today, a property and
    equipment, messages, automated actions and a task waiting for the owner."""
    office = await tenant.client("owner")
    heater = await _created(
        await office.post("/v1/services", json={"name": "Water heater install", "price_cents": 120_000})
    )
    drain = await _created(
        await office.post("/v1/services", json={"name": "Drain cleaning", "price_cents": 18_500})
    )
    customer = await _created(
        await office.post(
            "/v1/customers",
            json={
                "name": "Grace Hopper",
                "email": f"grace-{uuid.uuid4().hex[:8]}@example.com",
                "phone": "+15125550142",
                "address": "1 Navy Way",
                "city": "Austin",
                "sms_consent": True,
            },
        )
    )
    today = company_today(tenant.company)
    zone = ZoneInfo(tenant.company.timezone)
    three_pm = datetime.combine(today, time(15), zone).astimezone(UTC)
    job = await _created(
        await office.post(
            "/v1/jobs",
            json={
                "customer_id": customer["id"],
                "title": "Kitchen drain",
                "scheduled_start": three_pm.isoformat(),
                "assigned_user_id": str(tenant.users["tech"].id),
            },
        )
    )
    paid = await _created(
        await office.post(
            "/v1/invoices", json={"customer_id": customer["id"], "line_items": [{"service_id": drain["id"]}]}
        )
    )
    await _created(await office.post(f"/v1/invoices/{paid['id']}/mark-sent"))
    await _created(await office.post(f"/v1/invoices/{paid['id']}/mark-paid", json={"method": "check"}))
    overdue = await _created(
        await office.post(
            "/v1/invoices",
            json={
                "customer_id": customer["id"],
                "due_on": (today - timedelta(days=10)).isoformat(),
                "line_items": [{"service_id": heater["id"]}],
            },
        )
    )
    await _created(await office.post(f"/v1/invoices/{overdue['id']}/mark-sent"))
    quote = await _created(
        await office.post(
            "/v1/quotes",
            json={
                "customer_id": customer["id"],
                "title": "Water heater replacement",
                "line_items": [
                    {"service_id": heater["id"]},
                    {"description": "Haul away old heater", "unit_price_cents": 7_500, "optional": True},
                ],
            },
        )
    )
    await _created(await office.post(f"/v1/quotes/{quote['id']}/send"))
    async with sessions() as session:
        mine = {"company_id": tenant.company_id, "customer_id": uuid.UUID(customer["id"])}
        home = Property(**mine, name="Home", address="1 Navy Way", building_type="house", square_feet=1850)
        session.add(home)
        await session.flush()
        session.add(Equipment(**mine, property_id=home.id, name="Rheem 50 gal", kind="water heater"))
        session.add(
            ActionLog(
                company_id=tenant.company_id,
                automation_key="send_appointment_reminders",
                action="send_appointment_reminders",
                outcome=ActionOutcome.skipped,
                reason="automation is off",
                entity_type="job",
                entity_id=uuid.UUID(job["id"]),
            )
        )
        session.add(
            Notification(
                company_id=tenant.company_id,
                user_id=tenant.users["owner"].id,
                kind="service_recovery",
                title="Grace Hopper sounded unhappy: call before asking for a review",
                entity_type="job",
                entity_id=uuid.UUID(job["id"]),
            )
        )
        await session.commit()
    return {"customer": customer, "job": job, "quote": quote, "paid": paid, "overdue": overdue}


async def test_every_page_shows_the_business_in_company_time_and_money(
    browser, api_url, tenant, sessions, healthy_sandbox
):
    owner = await signed_in_page(browser, api_url, tenant.users["owner"].email)
    for path, name, empty in (
        ("/dashboard", "dashboard-empty", "No jobs today"),
        ("/customers", "customers-empty", "No customers yet"),
        ("/quotes", "quotes-empty", "No quotes yet"),
        ("/messages", "messages-empty", "No texts or emails sent yet"),
    ):
        await owner.goto(api_url + path)
        await expect(owner.locator("main")).to_contain_text(empty)
        await screenshot(owner, name)

    seeded = await seed_business(tenant, sessions)
    customer = seeded["customer"]

    await owner.goto(api_url + "/dashboard")
    metrics = owner.get_by_role("region", name="Money")
    await expect(metrics).to_contain_text(re.compile(r"Revenue this week\s*\$200\.26"))  # 185.00 + 8.25 % tax
    await expect(metrics).to_contain_text(re.compile(r"Overdue \(1 invoice\)\s*\$1,299\.00"))
    today = owner.get_by_role("region", name="Today's jobs")
    await expect(today).to_contain_text("3:00 PM")
    await expect(today).to_contain_text("Grace Hopper")
    await expect(today).to_contain_text("Austin")
    await expect(owner.get_by_role("region", name="Open quotes")).to_contain_text("Water heater replacement")
    impact = owner.get_by_role("region", name="AI impact this week")
    await expect(impact).to_contain_text("sounded unhappy")
    feed = owner.get_by_role("region", name="Agent action feed")
    await expect(feed).to_contain_text("Appointment Reminders")
    await expect(feed).to_contain_text("automation is off")
    await screenshot(owner, "dashboard")

    await owner.goto(api_url + "/customers?q=austin")
    await expect(owner.get_by_role("link", name="Grace Hopper")).to_be_visible()
    await screenshot(owner, "customers")
    await owner.goto(api_url + "/customers?q=nobody-like-this")
    await expect(owner.locator("main")).to_contain_text("No customers match")

    await owner.goto(api_url + f"/customers/{customer['id']}")
    for section, text in (
        ("Properties", "1,850"),
        ("Equipment", "Rheem 50 gal"),
        ("Jobs", "Kitchen drain"),
        ("Quotes", "Water heater replacement"),
        ("Invoices", "$1,299.00"),
        ("Messages", "Water heater replacement"),
    ):
        await expect(owner.get_by_role("region", name=re.compile(section))).to_contain_text(text)
    await screenshot(owner, "customer")

    await owner.goto(api_url + "/quotes?status=sent")
    await expect(owner.get_by_role("link", name="Sent 1")).to_have_attribute("aria-current", "page")
    await owner.get_by_role("link", name="Water heater replacement").click()
    await expect(owner.locator("#stage")).to_contain_text("waiting for the customer to accept or decline")
    await expect(owner.get_by_label("The customer's link")).to_have_value(re.compile(r"/q/"))
    await expect(owner.get_by_role("link", name="Workflow in Temporal UI")).to_have_attribute(
        "href", re.compile(f"/workflows/quote-{seeded['quote']['id']}$")
    )
    await screenshot(owner, "quote-sent")

    await owner.goto(api_url + "/dashboard")
    await owner.get_by_role("link", name="New quote").click()
    await owner.get_by_label("Customer", exact=True).select_option(label="Grace Hopper (Austin)")
    await expect(owner.get_by_label("Add a service from the catalogue")).to_contain_text(
        "Drain cleaning — $185.00"
    )
    await screenshot(owner, "quote-new")

    await owner.goto(api_url + "/messages?channel=email")
    await expect(owner.locator("tbody")).to_contain_text(customer["email"])
    await screenshot(owner, "messages")

    await owner.goto(api_url + "/team")
    await screenshot(owner, "team")
    await owner.goto(api_url + "/settings")
    await screenshot(owner, "settings")

    # On a phone the navigation folds behind the menu button and the tables scroll sideways.
    await owner.set_viewport_size({"width": 390, "height": 844})
    await owner.goto(api_url + "/dashboard")
    await expect(owner.get_by_role("navigation", name="Main")).to_be_hidden()
    await owner.get_by_role("button", name="Menu").click()
    await expect(owner.get_by_role("navigation", name="Main")).to_be_visible()
    await screenshot(owner, "dashboard-phone")
    await owner.goto(api_url + f"/quotes/{seeded['quote']['id']}")
    await screenshot(owner, "quote-phone")
    await owner.context.close()


# --- creating a customer and a quote from the catalogue, and sending it ---


async def test_office_adds_a_customer_and_sends_a_quote_built_from_the_catalogue(
    browser, api_url, tenant, healthy_sandbox
):
    owner = await tenant.client("owner")
    await _created(await owner.post("/v1/services", json={"name": "Drain cleaning", "price_cents": 18_500}))
    await _created(
        await owner.post("/v1/services", json={"name": "Water heater install", "price_cents": 120_000})
    )
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    page = await signed_in_page(browser, api_url, tenant.users["manager"].email)
    accept_dialogs(page)

    await page.goto(api_url + "/customers")
    await page.get_by_role("link", name="New customer").click()
    await page.get_by_label("Name").fill("Ada Lovelace")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Mobile phone").fill("12")
    await page.get_by_label("City").fill("Round Rock")
    await page.get_by_role("button", name="Add customer").click()
    # The API's 422 shows beside the field that caused it; nothing is saved.
    await expect(page.locator("#phone + .field-error")).to_contain_text("must be a phone number")
    await screenshot(page, "customer-form-error")
    await page.get_by_label("Mobile phone").fill("(512) 555-0177")
    await page.get_by_role("button", name="Add customer").click()
    await page.wait_for_url(re.compile(f"/customers/{UUID}$"))
    await expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    await expect(page.get_by_role("region", name="Contact")).to_contain_text("+15125550177")

    await page.get_by_role("link", name="New quote").click()
    await page.wait_for_url(re.compile(r"/quotes/new\?customer="))
    await page.get_by_label("Title").fill("New water heater")
    await page.get_by_label("Add a service from the catalogue").select_option(
        label="Water heater install — $1,200.00"
    )
    await page.get_by_role("button", name="Add service").click()
    await expect(page.locator("#total")).to_have_text("$1,299.00")  # 8.25 % tax, priced by the server
    await page.get_by_role("button", name="Add a custom line").click()
    await page.locator('[name="line_items.1.description"]').fill("Haul away old heater")
    await page.locator('[name="line_items.1.unit_price_cents"]').fill("75")
    await page.locator('[name="line_items.1.optional"]').check()
    await expect(page.locator("#total")).to_have_text("$1,380.19")
    await page.get_by_role("button", name="Add a custom line").click()
    await page.locator('[name="line_items.2.description"]').fill("10-year warranty")
    await page.locator('[name="line_items.2.unit_price_cents"]').fill("450")
    await page.locator('[name="line_items.2.option_group"]').select_option("best")
    await expect(page.locator('[name="line_items.2.optional"]')).to_be_checked()  # an option is optional
    await expect(page.locator("#option-totals")).to_contain_text("With Best")
    await expect(page.locator("#option-totals")).to_contain_text("$1,867.31")
    await screenshot(page, "quote-editor")

    await page.get_by_role("button", name="Create and send").click()
    await page.wait_for_url(re.compile(f"/quotes/{UUID}$"))
    await expect(page.locator("h1 .badge")).to_have_text("sent")
    await expect(page.locator("#stage")).to_contain_text("waiting for the customer")
    await expect(page.get_by_role("cell", name="Best option")).to_be_visible()
    await screenshot(page, "quote-after-send")

    (sent,) = [e for e in healthy_sandbox.outbox if e.channel == "email" and e.to == email]
    assert sent.subject.endswith("New water heater") and sent.attachments
    link = await page.get_by_label("The customer's link").input_value()
    assert link in sent.body

    # The customer's inbox in the sandbox shows the email.
    await page.goto(f"{healthy_sandbox.public_url}/inbox?to={email}")
    await expect(page.get_by_text(sent.subject)).to_be_visible()
    await screenshot(page, "sandbox-inbox-quote")
    await page.context.close()


async def test_a_draft_is_edited_in_place_and_saved_with_the_servers_totals(browser, api_url, tenant):
    office = await tenant.client("manager")
    customer = await _created(await office.post("/v1/customers", json={"name": "Alan Turing"}))
    quote = await _created(
        await office.post(
            "/v1/quotes",
            json={
                "customer_id": customer["id"],
                "title": "Repipe",
                "line_items": [
                    {"description": "Copper repipe", "unit_price_cents": 250_000},
                    {"description": "Drywall patch", "unit_price_cents": 30_000, "optional": True},
                ],
            },
        )
    )
    page = await signed_in_page(browser, api_url, tenant.users["manager"].email)
    await page.goto(api_url + f"/quotes/{quote['id']}")
    await expect(page.locator('[name="line_items.1.description"]')).to_have_value("Drywall patch")
    await expect(page.locator("#total")).to_have_text("$3,031.00")  # 2,500 + the 300 add-on, 8.25 % tax

    await page.locator('[name="line_items.0.quantity"]').fill("2")
    await page.get_by_role("button", name="Remove line 2").click()
    await expect(page.locator("#total")).to_have_text("$5,412.50")
    await page.get_by_role("button", name="Save draft").click()
    await expect(page.get_by_role("alert").filter(has_text="Draft saved")).to_be_visible()

    saved = (await office.get(f"/v1/quotes/{quote['id']}")).json()
    assert [(line["description"], line["quantity"]) for line in saved["line_items"]] == [
        ("Copper repipe", "2.00")
    ]
    assert saved["total_cents"] == 541_250

    await page.locator('[name="line_items.0.description"]').fill("")
    await page.locator('[name="line_items.0.unit_price_cents"]').fill("")
    await expect(page.locator('[name="line_items.0.unit_price_cents"] + .field-error')).to_contain_text(
        "required when no service_id is given"
    )
    await page.context.close()


# --- settings: automations and company options ---


async def test_owner_switches_an_automation_and_it_stays_switched(browser, api_url, tenant, sessions):
    page = await signed_in_page(browser, api_url, tenant.users["owner"].email)
    await page.goto(api_url + "/settings#automations")
    switch = page.get_by_role("switch", name="On-My-Way SMS")
    await expect(switch).not_to_be_checked()
    await switch.check()
    await expect(page.get_by_role("alert").filter(has_text="On-My-Way SMS is on")).to_be_visible()
    await screenshot(page, "settings-automation-on")

    await page.reload()
    await expect(page.get_by_role("switch", name="On-My-Way SMS")).to_be_checked()
    async with sessions() as session:
        setting = await session.get(AutomationSetting, (tenant.company_id, "send_omw_texts"))
        assert setting.enabled and setting.updated_by_id == tenant.users["owner"].id
    api = await tenant.client("manager")
    by_key = {a["key"]: a for a in (await api.get("/v1/automations")).json()}
    assert by_key["send_omw_texts"]["enabled"] is True

    await page.get_by_role("switch", name="On-My-Way SMS").uncheck()
    await expect(page.get_by_role("alert").filter(has_text="On-My-Way SMS is off")).to_be_visible()
    by_key = {a["key"]: a for a in (await api.get("/v1/automations")).json()}
    assert by_key["send_omw_texts"]["enabled"] is False

    # The test company is on Ops: a Scale automation cannot be switched on, and says why.
    await expect(page.get_by_role("switch", name="Ghost Dispatch")).to_be_disabled()
    await expect(page.locator("#ghost_dispatch")).to_contain_text(
        "Needs the Scale plan or higher; you are on Ops"
    )
    await page.context.close()


def saved_company(response) -> bool:
    return response.url.endswith("/v1/company") and response.request.method == "PATCH"


async def test_company_hours_and_tax_are_saved_and_bad_hours_explained(browser, api_url, tenant):
    page = await signed_in_page(browser, api_url, tenant.users["admin"].email)
    await page.goto(api_url + "/settings")
    await page.get_by_label("Open on Saturday").check()
    await page.get_by_label("Saturday opening time").fill("09:00")
    await page.get_by_label("Saturday closing time").fill("13:00")
    await page.get_by_label("Open on Monday").uncheck()
    await page.get_by_label("Time zone", exact=True).select_option("America/Denver")
    async with page.expect_navigation(), page.expect_response(saved_company) as answer:
        await page.get_by_role("button", name="Save hours").click()  # saved, the page reloads
    assert (await answer.value).ok
    await page.get_by_label("Sales tax (%)").fill("9.5")
    await page.get_by_label("Offer customers to save a card when they accept a quote (Stripe)").check()
    async with page.expect_navigation(), page.expect_response(saved_company) as answer:
        await page.get_by_role("button", name="Save invoicing").click()  # saved, the page reloads
    assert (await answer.value).ok

    company = (await (await tenant.client("admin")).get("/v1/company")).json()
    assert company["timezone"] == "America/Denver"
    assert company["business_hours"]["sat"] == {"open": "09:00", "close": "13:00"}
    assert company["business_hours"]["mon"] is None
    assert (company["tax_rate_bps"], company["card_on_file_enabled"]) == (950, True)

    await page.get_by_label("Friday closing time").fill("07:00")
    await page.get_by_role("button", name="Save hours").click()
    await expect(page.locator('fieldset[name="business_hours"] + .field-error')).to_contain_text(
        "fri: opening time must be before closing time"
    )
    await screenshot(page, "settings-hours-error")
    await page.context.close()


# --- team ---


async def test_owner_adds_edits_and_deactivates_a_technician(browser, api_url, tenant):
    page = await signed_in_page(browser, api_url, tenant.users["owner"].email)
    accept_dialogs(page)
    await page.goto(api_url + "/team")
    email = f"lin-{uuid.uuid4().hex[:8]}@example.com"
    await page.get_by_label("Name", exact=True).fill("Lin Plumber")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Hourly rate ($)").last.fill("42.50")
    await page.get_by_label("Skills (comma separated)").last.fill("plumbing, gas")
    await page.get_by_label("First password (at least 10 characters)").fill("a long first password")
    await page.get_by_label("Email", exact=True).fill(tenant.users["tech"].email)
    await page.get_by_role("button", name="Add member").click()
    await expect(page.locator("#new-email + .field-error")).to_contain_text("this email cannot be used")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_role("button", name="Add member").click()
    row = page.get_by_role("row").filter(has_text="Lin Plumber")
    await expect(row).to_contain_text("$42.50/h")
    await expect(row).to_contain_text("plumbing, gas")

    await row.get_by_text("Edit").click()
    await row.get_by_label("Hourly rate ($)").fill("45")
    await row.get_by_label("Role").select_option("manager")
    await row.get_by_role("button", name="Save").click()
    row = page.get_by_role("row").filter(has_text="Lin Plumber")
    await expect(row).to_contain_text("$45.00/h")
    await expect(row).to_contain_text("manager")

    await row.get_by_role("button", name="Deactivate").click()
    await expect(page.get_by_role("row").filter(has_text="Lin Plumber")).to_contain_text("deactivated")
    team = (await (await tenant.client("owner")).get("/v1/team?active=false")).json()["data"]
    assert [(m["email"], m["role"], m["hourly_rate_cents"]) for m in team] == [(email, "manager", 4500)]
    await page.context.close()


# --- the dashboard's live feed and the AI banner ---


async def test_the_action_feed_shows_new_actions_without_a_reload(browser, api_url, tenant, sessions):
    page = await signed_in_page(browser, api_url, tenant.users["manager"].email)
    await page.goto(api_url + "/dashboard")
    feed = page.get_by_role("region", name="Agent action feed")
    await expect(feed).to_contain_text("Nothing yet")
    async with sessions() as session:
        session.add(
            ActionLog(
                company_id=tenant.company_id,
                automation_key="send_receipt_sms",
                action="send_receipt_sms",
                outcome=ActionOutcome.sent,
                entity_type="invoice",
                entity_id=uuid.uuid4(),
            )
        )
        await session.commit()
    await expect(feed).to_contain_text("Receipt SMS", timeout=10_000)
    await expect(feed.locator(".badge")).to_have_text("sent")
    await page.context.close()


@asynccontextmanager
async def ai_outage(temporal_env, sessions, settings, tenant, sandbox, *providers: str):
    """Take sandbox AI providers down and make AI calls until the gateway's breakers open; afterwards
    close every breaker again (they are platform-wide, and other tests share the database)."""
    for provider in providers:
        sandbox.controls.set(provider, "down")
    queue = f"ai-probe-{uuid.uuid4()}"
    deps = Deps(sessions=sessions, settings=settings)
    request = AiRequest(
        company_id=str(tenant.company_id),
        feature="booking_confirmation",
        prompt="Confirm",
        fallback="Thanks!",
    )
    try:
        async with Worker(
            temporal_env.client,
            task_queue=queue,
            workflows=[AiProbeWorkflow],
            activities=build_activities(deps),
            activity_executor=ThreadPoolExecutor(4),
        ):
            for _ in range(BREAKER_THRESHOLD):
                await temporal_env.client.execute_workflow(
                    AiProbeWorkflow.run, request, id=f"ai-probe-{uuid.uuid4()}", task_queue=queue
                )
        yield
    finally:
        sandbox.controls.reset()
        async with sessions() as session:
            await session.exec(delete(AiProviderState))
            await session.commit()


async def test_the_ai_banner_turns_orange_then_red_as_providers_go_down(
    browser, api_url, tenant, sessions, settings, temporal_env, healthy_sandbox
):
    api = await tenant.client("manager")
    page = await signed_in_page(browser, api_url, tenant.users["manager"].email)
    banner = page.locator(".ai-banner")
    await page.goto(api_url + "/customers")
    await expect(banner).to_have_count(0)

    async with ai_outage(temporal_env, sessions, settings, tenant, healthy_sandbox, "gemini"):
        assert (await api.get("/v1/ai/status")).json()["status"] == "degraded"
        await page.reload()
        await expect(banner).to_have_class(re.compile("ai-degraded"))
        await expect(banner).to_contain_text("one AI provider is unreachable and the other is covering")
        await screenshot(page, "ai-banner-degraded")

    async with ai_outage(temporal_env, sessions, settings, tenant, healthy_sandbox, "gemini", "anthropic"):
        assert (await api.get("/v1/ai/status")).json()["status"] == "down"
        await page.goto(api_url + "/dashboard")
        await expect(banner).to_have_class(re.compile("ai-down"))
        await expect(banner).to_contain_text("Customer messages still go out from templates")
        await screenshot(page, "ai-banner-down")

    await page.reload()
    await expect(banner).to_have_count(0)
    await page.context.close()


async def test_an_accepted_quote_is_converted_to_an_invoice_from_its_page(
    browser, api_url, tenant, http, healthy_sandbox
):
    office = await tenant.client("manager")
    customer = await _created(
        await office.post(
            "/v1/customers", json={"name": "Ada", "email": f"ada-{uuid.uuid4().hex[:8]}@example.com"}
        )
    )
    quote = await _created(
        await office.post(
            "/v1/quotes",
            json={
                "customer_id": customer["id"],
                "title": "Tune-up",
                "line_items": [{"description": "Furnace tune-up", "unit_price_cents": 12_900}],
            },
        )
    )
    sent = await _created(await office.post(f"/v1/quotes/{quote['id']}/send"))
    portal = "/" + sent["portal_url"].split("/", 3)[3]
    accepted = await http.post(portal + "/accept", data={"signed_name": "Ada"})
    assert accepted.status_code == 303, accepted.text

    page = await signed_in_page(browser, api_url, tenant.users["manager"].email)
    accept_dialogs(page)
    await page.goto(api_url + f"/quotes/{quote['id']}")
    await expect(page.get_by_role("region", name="Details")).to_contain_text("signed “Ada”")
    await screenshot(page, "quote-accepted")
    await page.get_by_role("button", name="Convert to invoice").click()
    await page.wait_for_url(re.compile(f"/invoices/{UUID}$"))
    invoice_id = page.url.rsplit("/", 1)[1]
    invoice = (await office.get(f"/v1/invoices/{invoice_id}")).json()
    assert (invoice["quote_id"], invoice["total_cents"]) == (quote["id"], quote["total_cents"])

    await page.goto(api_url + f"/quotes/{quote['id']}")
    await expect(page.get_by_role("link", name="Open invoice")).to_have_attribute(
        "href", f"/invoices/{invoice_id}"
    )
    await expect(page.get_by_role("button", name="Convert to invoice")).to_have_count(0)
    await page.context.close()
