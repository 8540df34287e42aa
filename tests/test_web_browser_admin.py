"""Chromium (through Playwright) on the public rating, catalogue editing, version migration and the office screen.

SQLite only, like tests/test_web_browser.py (whose launch, skip rules and Person this module shares); the same
routes run on both databases in tests/test_web_public_rating.py and tests/test_web_admin_catalogue.py.
Screenshots go to tests/artifacts/browser/.
"""

import re

import pytest

from app.security.roles import Role
from tests import report_fixture
from tests.onestop import install_catalogue, procedures, receive, reception_body, units
from tests.report_fixture import APPLICANT_ID
from tests.test_api_processes import complete
from tests.test_versions_migration import _start_on, two_versions
from tests.test_web_browser import Person, browser, expect, site  # noqa: F401 (fixtures)
from tests.web import make_user

NO_HORIZONTAL_SCROLL = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture
def rated_site(services, server):
    if services.db.dialect != "sqlite":
        pytest.skip("browser tests run on SQLite; the page routes run on PostgreSQL in test_web_public_rating.py")
    report_fixture.load(services)
    return server.url


def test_applicant_rates_a_returned_dossier_from_the_lookup_page(browser, rated_site):  # noqa: F811
    public = Person(browser, rated_site, None)
    page = public.go("/public/lookup")
    page.get_by_label("Mã hồ sơ").fill("A04")
    page.keyboard.press("Tab")  # the next field in the tab order is the ID number
    page.keyboard.type(APPLICANT_ID)
    page.keyboard.press("Enter")
    form = page.get_by_test_id("rating-form")
    expect(form).to_be_visible()
    form.get_by_role("button", name="Gửi đánh giá").click()  # no score chosen: told next to the field
    expect(page.locator("[data-field='score']")).to_contain_text("từ 1 đến 5")
    public.shot("rating-missing-score")
    form = page.get_by_test_id("rating-form")
    form.get_by_label("4 · Hài lòng").check()
    form.get_by_label("Phản ánh, kiến nghị (nếu có)").fill("Nên nhắn tin khi có kết quả")
    public.shot("rating-form")
    form.get_by_role("button", name="Gửi đánh giá").click()
    expect(page.get_by_test_id("rated")).to_be_visible()
    expect(page.get_by_test_id("rating-form")).to_have_count(0)
    public.shot("rated")
    page.get_by_role("link", name="Công khai kết quả giải quyết hồ sơ").click()
    expect(page).to_have_url(re.compile(r"/public/service-quality"))
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    public.close()


def test_worklist_and_dossier_pages_fit_an_office_screen(browser, site, services, client):  # noqa: F811
    commune = units(client, "commune")[0]["code"]
    procedure = procedures(client, level="commune")[0]
    code = receive(client, reception_body(procedure, commune))["code"]
    make_user(services, "mc_1366", Role.RECEPTION_CLERK, commune)
    clerk = Person(browser, site, "mc_1366")  # a 1366×768 viewport
    for path, label in (("/ui/worklist", "worklist-1366"), (f"/ui/dossiers/{code}", "dossier-1366"),
                        (f"/ui/reception?procedure={procedure['code']}", "reception-1366")):
        page = clerk.go(path)
        assert page.evaluate(NO_HORIZONTAL_SCROLL), f"{path} scrolls sideways at 1366×768"
        clerk.shot(label)
    page.emulate_media(media="print")
    assert page.evaluate(NO_HORIZONTAL_SCROLL)
    expect(page.locator("header.top nav")).to_be_hidden()  # the print stylesheet drops the menu
    clerk.close()


def test_admin_edits_a_procedure_and_moves_instances_to_a_newer_version(browser, site, services, client):  # noqa: F811
    install_catalogue(services)
    procedure = procedures(client, level="department")[0]
    v1, v2 = two_versions(client, "browser_migrated")
    movable = _start_on(client, v1)
    complete(client, _start_on(client, v1)["openTasks"][0]["id"])  # stuck at b, which v2 removed
    make_user(services, "quantri_b", Role.SYSTEM_ADMIN, "H31.SYT")
    admin = Person(browser, site, "quantri_b")

    page = admin.go("/ui/admin/procedures")
    page.get_by_label("Tìm thủ tục").fill(procedure["name"][:15])
    page.get_by_role("button", name="Tìm", exact=True).click()
    page.get_by_role("link", name=procedure["code"], exact=True).click()
    page.get_by_label("Thời hạn giải quyết").fill("0")
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator("[data-field='legal_days']")).to_be_visible()
    admin.shot("procedure-error")
    page.get_by_label("Thời hạn giải quyết").fill("7")
    page.get_by_label("Mã 1", exact=True).first.fill("le_phi")
    page.get_by_label("Tên 1", exact=True).first.fill("Lệ phí cấp giấy")
    page.get_by_label("Số tiền (đồng) 1").fill("150000")
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_test_id("saved")).to_be_visible()
    admin.shot("procedure-saved")
    saved = services.catalogue.get(procedure["code"])
    assert saved.legal_days == 7 and saved.fees[0].amount == 150000

    page = admin.go("/ui/admin/diagrams")
    expect(page.get_by_test_id("instances-browser_migrated-1")).to_contain_text("đang chạy: 2")
    page.get_by_test_id("instances-browser_migrated-1").get_by_role("link").click()
    page.get_by_role("button", name="Xem kế hoạch").click()
    expect(page.get_by_test_id("migration-plan")).to_contain_text("Không chuyển được")
    admin.shot("migration-plan")
    assert client.get(f"/api/v1/process-instances/{movable['id']}").json()["definitionId"] == v1
    page.get_by_role("button", name="Chuyển các phiên chạy").click()
    expect(page.get_by_test_id("migration-result")).to_contain_text("Đã chuyển")
    admin.shot("migration-result")
    assert client.get(f"/api/v1/process-instances/{movable['id']}").json()["definitionId"] == v2

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page = admin.go("/ui/admin/diagrams")
    expect(page.get_by_role("link", name="Procedure catalogue")).to_be_visible()
    expect(page.get_by_test_id("instances-browser_migrated-2")).to_contain_text("running: 1")
    admin.shot("diagrams-en")
    admin.close()
