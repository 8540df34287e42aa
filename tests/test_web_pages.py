"""The staff web pages over HTTP (both databases): sign-in, CSRF, worklists, the dossier page, reception, lookup."""

import re

import httpx
import pytest

from app.security.roles import Role
from tests.onestop import install_catalogue, procedures, receive, reception_body, units
from tests.web import HTML, PASSWORD, csrf_of, make_user, signed_in, submit


@pytest.fixture
def world(services, client):
    install_catalogue(services)
    procedure = procedures(client, level="commune")[0]
    own, other = [u["code"] for u in units(client, "commune")[:2]]
    return {"procedure": procedure, "own": own, "other": other,
            "own_dossier": receive(client, reception_body(procedure, own)),
            "other_dossier": receive(client, reception_body(procedure, other, id_number="079123456789"))}


def test_sign_in_sets_a_protected_session_cookie_and_sign_out_ends_it(world, services, server):
    make_user(services, "tiepnhan1", Role.RECEPTION_CLERK, world["own"])
    with httpx.Client(base_url=server.url, headers=HTML) as http:
        form = http.get("/login")
        assert form.status_code == 200 and '<html lang="vi">' in form.text
        wrong = http.post("/login", data={"username": "tiepnhan1", "password": "sai-mat-khau-roi",
                                          "csrf_token": csrf_of(form.text)})
        assert wrong.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in wrong.text
        assert "motcua_session" not in http.cookies
        ok = http.post("/login", data={"username": "tiepnhan1", "password": PASSWORD,
                                       "csrf_token": csrf_of(form.text), "next": "https://evil.example/"})
        assert ok.status_code == 303 and ok.headers["location"] == "/ui/worklist"  # no open redirect
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        page = http.get("/ui/worklist")
        assert page.status_code == 200 and "tiepnhan1" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        # the cookie is for the web pages only: the REST API still wants a header
        assert http.get("/api/v1/dossiers").status_code == 401
        out = http.post("/logout", data={"csrf_token": csrf_of(page.text)})
        assert out.status_code == 303
        again = http.get("/ui/worklist")
        assert again.status_code == 303 and again.headers["location"] == "/login?next=/ui/worklist"


def test_login_form_without_its_csrf_pair_is_refused(world, services, server):
    make_user(services, "tiepnhan2", Role.RECEPTION_CLERK, world["own"])
    with httpx.Client(base_url=server.url, headers=HTML) as http:
        refused = http.post("/login", data={"username": "tiepnhan2", "password": PASSWORD, "csrf_token": "x" * 30})
        assert refused.status_code == 403 and 'data-code="csrf_failed"' in refused.text
        assert "motcua_session" not in http.cookies


def test_a_tampered_or_foreign_session_cookie_is_not_a_session(world, services, server):
    make_user(services, "tiepnhan3", Role.RECEPTION_CLERK, world["own"])
    with signed_in(server.url, "tiepnhan3") as http:
        value = http.cookies["motcua_session"]
        body, _, mac = value.partition(".")
        forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac
        with httpx.Client(base_url=server.url, headers=HTML, cookies={"motcua_session": forged}) as other:
            assert other.get("/ui/worklist").status_code == 303
        # API callers (no text/html) get the usual 401 problem
        with httpx.Client(base_url=server.url, cookies={"motcua_session": forged}) as api:
            response = api.get("/ui/worklist")
            assert response.status_code == 401 and response.json()["code"] == "unauthorized"
        assert http.get("/ui/worklist").status_code == 200
        services.accounts.set_active("tiepnhan3", False)  # disabling a user ends the session at once
        assert http.get("/ui/worklist").status_code == 303


def test_action_with_a_wrong_csrf_token_is_refused_and_changes_nothing(world, services, server):
    make_user(services, "tiepnhan4", Role.RECEPTION_CLERK, world["own"])
    code = world["own_dossier"]["code"]
    with signed_in(server.url, "tiepnhan4") as http:
        refused = http.post(f"/ui/dossiers/{code}/actions/withdraw", data={"csrf_token": "forged", "reason": "Rút"})
        assert refused.status_code == 403 and "csrf_failed" in refused.text
        missing = http.post(f"/ui/dossiers/{code}/actions/withdraw", data={"reason": "Rút"})
        assert missing.status_code in (403, 422)
    assert services.dossiers.get(code).status == "accepted"


def test_worklist_shows_own_agency_with_queue_counts_and_refuses_another_units_dossier(world, services, server):
    make_user(services, "tiepnhan5", Role.RECEPTION_CLERK, world["own"])
    with signed_in(server.url, "tiepnhan5") as http:
        page = http.get("/ui/worklist")
        assert world["own_dossier"]["code"] in page.text and world["other_dossier"]["code"] not in page.text
        assert re.search(r'data-testid="count-new">1<', page.text)
        assert re.search(r'data-testid="count-overdue">0<', page.text)
        assert http.get("/ui/worklist", params={"unit": world["other"]}).status_code == 403
        denied = http.get(f"/ui/dossiers/{world['other_dossier']['code']}")
        assert denied.status_code == 403 and "không thuộc đơn vị" in denied.text
        assert http.get(f"/ui/dossiers/{world['other_dossier']['code']}/forms/01").status_code == 403
        bad = http.get("/ui/worklist", params={"queue": "nonsense"})
        assert bad.status_code == 422 and "Hàng đợi" in bad.text


def test_reception_form_receives_and_links_form_01_with_qr(world, services, server, client):
    make_user(services, "tiepnhan6", Role.RECEPTION_CLERK, world["own"])
    procedure = next(p for p in procedures(client, level="commune") if sum(d["required"] for d in p["documents"]) > 1)
    with signed_in(server.url, "tiepnhan6") as http:
        word = procedure["name"].split()[0]
        search = http.get("/ui/reception", params={"q": word.lower()})
        assert procedure["code"] in search.text
        url = f"/ui/reception?procedure={procedure['code']}"
        required = [d["code"] for d in procedure["documents"] if d["required"]]
        data = {"procedure_code": procedure["code"], "channel": "counter", "receiving_unit": world["own"],
                "applicant_type": "citizen", "name": "Trần Thị Bình", "id_number": "031987654321",
                "phone": "0912345678", "doc": required[1:]}
        data.update({f"originals_{c}": "1" for c in required})
        incomplete = submit(http, url, "/ui/reception", data)
        assert incomplete.status_code == 422, incomplete.text
        assert "Thiếu" in incomplete.text, re.findall(r"class=\"error\"[^<]*<[^<]*<[^<]*<[^<]*", incomplete.text)
        data["doc"] = required
        done = submit(http, url, "/ui/reception", data)
        assert done.status_code == 303, done.text
        code = done.headers["location"].split("/ui/dossiers/")[1].split("?")[0]
        page = http.get(done.headers["location"])
        assert "Mẫu 01" in page.text and "Trần Thị Bình" in page.text
        form01 = http.get(f"/ui/dossiers/{code}/forms/01")
        assert form01.status_code == 200 and code in form01.text
        assert "<svg" in form01.text or "data:image" in form01.text  # the QR of the lookup link
    assert services.dossiers.get(code).applicant["name"] == "Trần Thị Bình"


def test_reception_at_another_unit_is_forbidden(world, services, server):
    make_user(services, "tiepnhan7", Role.RECEPTION_CLERK, world["own"])
    procedure = world["procedure"]
    with signed_in(server.url, "tiepnhan7") as http:
        response = submit(http, f"/ui/reception?procedure={procedure['code']}", "/ui/reception",
                          {"procedure_code": procedure["code"], "receiving_unit": world["other"], "name": "Ai đó",
                           "id_number": "031987654321", "doc": [d["code"] for d in procedure["documents"]]})
        assert response.status_code == 403


def test_completing_a_step_from_the_dossier_page(world, services, server, client):
    code = world["own_dossier"]["code"]
    tasks = client.get("/api/v1/tasks", params={"processInstanceId": world["own_dossier"]["processInstanceId"]}).json()
    group = tasks[0]["candidateGroups"][0]
    role = {"commune_specialist": Role.SPECIALIST}.get(group, group)
    make_user(services, "canbo1", role, world["own"])
    with signed_in(server.url, "canbo1") as http:
        page = http.get(f"/ui/dossiers/{code}")
        assert page.status_code == 200 and "<svg" in page.text and 'data-state="active"' in page.text
        action = f"/ui/dossiers/{code}/tasks/{tasks[0]['id']}/complete"
        assert action in page.text
        done = submit(http, f"/ui/dossiers/{code}", action, {})
        assert done.status_code == 303, done.text
        history = http.get(f"/ui/dossiers/{code}").text
        assert "task.completed" in history and "canbo1" in history
    assert client.get(f"/api/v1/tasks/{tasks[0]['id']}").json()["status"] == "completed"


def test_actions_show_field_errors_and_extend_works(world, services, server):
    make_user(services, "motcua8", Role.RECEPTION_CLERK, world["own"])
    code = world["own_dossier"]["code"]
    with signed_in(server.url, "motcua8") as http:
        bad = submit(http, f"/ui/dossiers/{code}", f"/ui/dossiers/{code}/actions/extend", {"reason": "x", "days": "0"})
        assert bad.status_code == 422 and 'role="alert"' in bad.text
        ok = submit(http, f"/ui/dossiers/{code}", f"/ui/dossiers/{code}/actions/extend",
                    {"reason": "Cần xác minh thêm tại cơ sở", "days": "3"})
        assert ok.status_code == 303
    assert services.dossiers.get(code).extension_count == 1


def test_public_lookup_needs_code_and_id_number(world, anonymous, client):
    code = world["own_dossier"]["code"]
    page = anonymous.get("/public/lookup", params={"code": code, "id_number": "001203004567"}, headers=HTML)
    assert page.status_code == 200 and "Đã tiếp nhận" in page.text and code in page.text
    wrong = anonymous.get("/public/lookup", params={"code": code, "id_number": "999999999"}, headers=HTML)
    assert wrong.status_code == 404 and "Không tìm thấy" in wrong.text and "Nguyễn Văn An" not in wrong.text
    assert anonymous.get("/public/lookup").status_code == 200


def test_english_toggle(world, anonymous):
    switched = anonymous.get("/ui/lang", params={"to": "en", "next": "/public/lookup"})
    assert switched.status_code == 303 and switched.headers["location"] == "/public/lookup"
    anonymous.cookies.set("motcua_lang", "en")
    page = anonymous.get("/public/lookup")
    assert '<html lang="en">' in page.text and "Dossier lookup" in page.text
    elsewhere = anonymous.get("/ui/lang", params={"to": "en", "next": "//evil.example"})
    assert elsewhere.headers["location"] == "/ui/worklist"


def test_static_assets(anonymous):
    assert anonymous.get("/ui/static/ui.css").headers["content-type"].startswith("text/css")
    assert anonymous.get("/ui/static/secret.py").status_code == 404


def test_admin_pages_calendar_overrides_incidents_and_refused_diagram(world, services, server):
    make_user(services, "quantri1", Role.SYSTEM_ADMIN, "H31.SYT")
    make_user(services, "chuyenvien9", Role.SPECIALIST, world["own"])
    with signed_in(server.url, "quantri1") as http:
        bad = submit(http, "/ui/admin/calendar", "/ui/admin/calendar", {"day": "30/12/2026", "kind": "day-off",
                                                                         "reason": "Nghỉ bù"})
        assert bad.status_code == 422 and 'data-field="day"' in bad.text
        ok = submit(http, "/ui/admin/calendar", "/ui/admin/calendar", {"day": "2026-12-30", "kind": "day-off",
                                                                        "reason": "Nghỉ bù thử nghiệm"})
        assert ok.status_code == 303
        assert [o["date"] for o in services.calendar.overrides()] == ["2026-12-30"]
        assert http.get("/ui/admin/incidents").status_code == 200
        refused = submit(http, "/ui/admin/diagrams", "/ui/admin/diagrams", {},
                         files={"file": ("x.bpmn", b"<definitions>not bpmn</definitions>", "application/xml")})
        assert refused.status_code == 422 and 'data-testid="deploy-errors"' in refused.text
    with signed_in(server.url, "chuyenvien9") as http:
        assert http.get("/ui/admin/diagrams").status_code == 403


def test_accounts_page_creates_and_disables_users_and_shows_a_new_key_once(world, services, server):
    make_user(services, "quantri2", Role.SYSTEM_ADMIN, "H31.SYT")
    with signed_in(server.url, "quantri2") as http:
        weak = submit(http, "/ui/admin/accounts", "/ui/admin/accounts/users",
                      {"username": "lan", "password": "ngan", "role": "specialist", "unit": world["own"]})
        assert weak.status_code == 422 and 'data-field="password"' in weak.text
        made = submit(http, "/ui/admin/accounts", "/ui/admin/accounts/users",
                      {"username": "lan", "password": PASSWORD, "role": "specialist", "unit": world["own"],
                       "full_name": "Nguyễn Thị Lan"})
        assert made.status_code == 303
        with signed_in(server.url, "lan") as lan:
            assert lan.get("/ui/worklist").status_code == 200
            assert submit(http, "/ui/admin/accounts", "/ui/admin/accounts/users/lan/active", {}).status_code == 303
            assert lan.get("/ui/worklist").status_code == 303  # disabled: back to the sign-in page
        key = submit(http, "/ui/admin/accounts", "/ui/admin/accounts/keys", {"name": "dvcqg", "role": "integrator"})
        assert key.status_code == 201
        secret = re.search(r'data-testid="new-key">([^<]+)<', key.text).group(1)
        assert secret not in http.get("/ui/admin/accounts").text
        with httpx.Client(base_url=server.url, headers={"X-API-Key": secret}) as api:
            assert api.get("/api/v1/auth/me").status_code == 200
