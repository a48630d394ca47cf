"""Sign-in, sessions, CSRF, slowed-down guessing, API keys and what each role may do."""

import asyncio

import httpx
from sqlmodel import select

from models.company import User, UserSession
from tests.factories import PASSWORD


async def test_login_sets_an_httponly_samesite_cookie_and_me_answers(http, tenant):
    response = await http.post(
        "/v1/auth/login", json={"email": tenant.users["owner"].email, "password": PASSWORD}
    )
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    me = (await http.get("/v1/auth/me")).json()
    assert me["role"] == "owner" and me["company"]["id"] == str(tenant.company_id)


async def test_passwords_and_session_tokens_are_stored_only_as_hashes(http, tenant, sessions):
    response = await http.post(
        "/v1/auth/login", json={"email": tenant.users["owner"].email, "password": PASSWORD}
    )
    token = response.cookies["nexjob_session"]
    async with sessions() as session:
        user = await session.get(User, tenant.users["owner"].id)
        stored = (await session.exec(select(UserSession).where(UserSession.user_id == user.id))).all()
    assert user.password_hash.startswith("$argon2")
    assert token not in {s.token_digest for s in stored}


async def test_wrong_password_is_401_without_saying_which_part_was_wrong(http, tenant):
    wrong = await http.post("/v1/auth/login", json={"email": tenant.users["owner"].email, "password": "nope"})
    unknown = await http.post("/v1/auth/login", json={"email": "ghost@example.com", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_repeated_failed_logins_are_refused_for_a_while_even_with_the_right_password(http, tenant):
    email = tenant.users["manager"].email
    for _ in range(5):
        assert (
            await http.post("/v1/auth/login", json={"email": email, "password": "guess"})
        ).status_code == 401
    locked = await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1
    await asyncio.sleep(1.1)  # the test app locks for 1 s
    assert (await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})).status_code == 200


async def test_cookie_writes_without_the_csrf_header_are_refused(tenant):
    client = await tenant.client("owner")
    assert (await client.post("/v1/customers", json={"name": "With header"})).status_code == 201
    del client.headers["X-CSRF-Token"]
    refused = await client.post("/v1/customers", json={"name": "Forged"})
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    assert (await client.get("/v1/customers")).status_code == 200  # reads need no header


async def test_logout_ends_the_session(tenant):
    client = await tenant.client("owner")
    assert (await client.post("/v1/auth/logout")).status_code == 204
    assert (await client.get("/v1/customers")).status_code == 401


async def test_deactivated_member_cannot_sign_in_or_keep_using_a_session(tenant):
    tech = await tenant.client("tech")
    owner = await tenant.client("owner")
    assert (
        await owner.patch(f"/v1/team/{tenant.users['tech'].id}", json={"active": False})
    ).status_code == 200
    assert (await tech.get("/v1/jobs")).status_code == 401
    again = await owner.post(
        "/v1/auth/login", json={"email": tenant.users["tech"].email, "password": PASSWORD}
    )
    assert again.status_code == 401


async def test_api_keys_read_only_scope_and_revocation(http, tenant):
    owner = await tenant.client("owner")
    created = (await owner.post("/v1/api-keys", json={"name": "reports"})).json()
    assert created["key"].startswith("nxj_live_") and created["scope"] == "read"
    auth = {"Authorization": f"Bearer {created['key']}"}
    assert (await http.get("/v1/customers", headers=auth)).status_code == 200
    write = await http.post("/v1/customers", json={"name": "x"}, headers=auth)
    assert write.status_code == 403 and "read-only" in write.json()["detail"]
    listed = (await owner.get("/v1/api-keys")).json()
    assert "key" not in listed[0]
    assert (await owner.delete(f"/v1/api-keys/{created['id']}")).status_code == 200
    assert (await http.get("/v1/customers", headers=auth)).status_code == 401


async def test_anonymous_requests_are_401(http):
    for path in ("/v1/customers", "/v1/jobs", "/v1/auth/me", "/v1/automations"):
        assert (await http.get(path)).status_code == 401
    assert (
        await http.get("/v1/customers", headers={"Authorization": "Bearer nxj_live_made_up"})
    ).status_code == 401


async def test_technicians_see_only_their_own_jobs_and_no_billing(tenant):
    manager = await tenant.client("manager")
    customer = (await manager.post("/v1/customers", json={"name": "Linus"})).json()["id"]
    mine = (
        await manager.post(
            "/v1/jobs",
            json={"customer_id": customer, "title": "Mine", "assigned_user_id": str(tenant.users["tech"].id)},
        )
    ).json()
    theirs = (
        await manager.post(
            "/v1/jobs",
            json={
                "customer_id": customer,
                "title": "Theirs",
                "assigned_user_id": str(tenant.users["tech2"].id),
            },
        )
    ).json()
    tech = await tenant.client("tech")
    assert [j["title"] for j in (await tech.get("/v1/jobs")).json()["data"]] == ["Mine"]
    assert (await tech.get(f"/v1/jobs/{mine['id']}")).status_code == 200
    assert (await tech.get(f"/v1/jobs/{theirs['id']}")).status_code == 404
    for path in ("/v1/invoices", "/v1/quotes", "/v1/leads", "/v1/api-keys", "/v1/action-log"):
        assert (await tech.get(path)).status_code == 403, path
    assert (await tech.post("/v1/customers", json={"name": "no"})).status_code == 403
    assert (await tech.patch("/v1/company", json={"name": "Mine now"})).status_code == 403


async def test_only_owners_and_admins_manage_team_and_automations(tenant):
    manager = await tenant.client("manager")
    admin = await tenant.client("admin")
    assert (await manager.put("/v1/automations/send_omw_texts", json={"enabled": True})).status_code == 403
    assert (
        await manager.patch(f"/v1/team/{tenant.users['tech'].id}", json={"hourly_rate_cents": 1})
    ).status_code == 403
    assert (
        await admin.patch(f"/v1/team/{tenant.users['tech'].id}", json={"hourly_rate_cents": 4500})
    ).status_code == 200
    # Admins cannot create or change owners; nobody demotes or deactivates themselves.
    assert (
        await admin.patch(f"/v1/team/{tenant.users['tech'].id}", json={"role": "owner"})
    ).status_code == 403
    assert (
        await admin.patch(f"/v1/team/{tenant.users['owner'].id}", json={"active": False})
    ).status_code == 403
    owner = await tenant.client("owner")
    assert (
        await owner.patch(f"/v1/team/{tenant.users['owner'].id}", json={"role": "admin"})
    ).status_code == 409


async def test_new_team_member_can_sign_in_with_the_first_password(http, tenant):
    owner = await tenant.client("owner")
    body = {
        "email": f"New.Tech.{tenant.company_id.hex[:6]}@Example.com",
        "name": "New Tech",
        "password": "first-password-1",
        "role": "technician",
        "skills": ["hvac"],
        "hourly_rate_cents": 3800,
    }
    created = await owner.post("/v1/team", json=body)
    assert created.status_code == 201, created.text
    assert "password" not in created.json() and "password_hash" not in created.json()
    duplicate = await owner.post("/v1/team", json=body)
    assert duplicate.status_code == 422 and duplicate.json()["detail"][0]["loc"] == ["body", "email"]
    login = await http.post(
        "/v1/auth/login", json={"email": body["email"].lower(), "password": "first-password-1"}
    )
    assert login.status_code == 200 and login.json()["role"] == "technician"


async def test_one_password_sprayed_across_many_emails_is_slowed_by_address(app, tenant, settings):
    # Its own client address (an ASGI scope value, no network), so the lock does not reach other tests.
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 4242))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as sprayer:
        for i in range(settings.login_free_attempts_per_address):
            email = f"spray{i}-{tenant.company_id}@example.com"
            guess = await sprayer.post("/v1/auth/login", json={"email": email, "password": "Summer2026!"})
            assert guess.status_code == 401
        owner = {"email": tenant.users["owner"].email, "password": PASSWORD}
        assert (await sprayer.post("/v1/auth/login", json=owner)).status_code == 429
    assert (await tenant.client("owner")).headers["X-CSRF-Token"]  # other addresses sign in as usual
