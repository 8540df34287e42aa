"""The staff pages driven by a real Chromium (Debian's package, through Playwright), as people use them.

SQLite only: the same page routes run on both databases in tests/test_web_pages.py. Screenshots of
every page visited go to tests/artifacts/browser/ for a person to look at.
"""

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.security.roles import Role
from tests.conftest import ROOT
from tests.onestop import install_catalogue, procedures, units
from tests.web import PASSWORD, make_user

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
REQUIRED = os.environ.get("MOTCUA_TEST_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "browser"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # the dev extra is not installed
    sync_playwright = None

if CHROMIUM is None or sync_playwright is None:
    reason = "chromium is not installed (apt-get install chromium)" if CHROMIUM is None \
        else "playwright is not installed (pip install -e '.[dev]')"
    if REQUIRED:
        raise pytest.UsageError(f"MOTCUA_TEST_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator["Browser"]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site(services, server, client):
    if services.db.dialect != "sqlite":
        pytest.skip("browser tests run on SQLite; the page routes run on PostgreSQL in test_web_pages.py")
    install_catalogue(services)
    return server.url


class Person:
    """One browser context (its own cookies) signed in as one user."""

    def __init__(self, browser: "Browser", base: str, username: str | None) -> None:
        self.context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
        self.page: Page = self.context.new_page()
        self.page.on("dialog", lambda dialog: dialog.accept())
        self.base = base
        self.shots = 0
        self.name = username or "public"
        if username:
            self.page.goto(f"{base}/login")
            self.page.get_by_label("Tên đăng nhập").fill(username)
            self.page.get_by_label("Mật khẩu").fill(PASSWORD)
            self.page.get_by_role("button", name="Đăng nhập").click()
            expect(self.page).to_have_url(re.compile(r"/ui/worklist$"))

    def go(self, path: str) -> "Page":
        self.page.goto(self.base + path)
        return self.page

    def shot(self, label: str) -> None:
        self.shots += 1
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}-{self.shots:02d}-{label}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


def complete_open_step(person: Person, code: str, step_name: str, fields: dict[str, str] | None = None) -> None:
    page = person.go(f"/ui/dossiers/{code}")
    expect(page.get_by_test_id("diagram").locator("svg")).to_be_visible()
    person.shot(f"before-{step_name}")
    form = page.locator("form.task-form").filter(has=page.get_by_role("button", name=re.compile(step_name)))
    for label, value in (fields or {}).items():
        form.get_by_label(label).fill(value)
    form.get_by_role("button", name=re.compile(step_name)).click()
    expect(page.get_by_test_id("done")).to_be_visible()


def test_a_department_dossier_from_commune_counter_to_returned_result(browser, site, services, client):
    commune, other_commune = [u["code"] for u in units(client, "commune")[:2]]
    procedure = next(p for p in procedures(client, level="department") if p["diagramKey"] == "syt_gcn_kinh_doanh_duoc")
    division = "H31.SYT.03"
    make_user(services, "mc_xa", Role.RECEPTION_CLERK, commune)
    make_user(services, "mc_xa_khac", Role.RECEPTION_CLERK, other_commune)
    for username, role in (("tp_duoc", Role.DIVISION_HEAD), ("cv_duoc", Role.SPECIALIST),
                           ("ld_so", Role.APPROVER), ("vt_so", Role.RECORDS_CLERK)):
        make_user(services, username, role, division)

    clerk = Person(browser, site, "mc_xa")
    page = clerk.page
    clerk.shot("worklist-empty")
    # accent-insensitive search, as a clerk types it
    page.get_by_role("link", name="Tiếp nhận hồ sơ").click()
    page.get_by_label("Tìm thủ tục").fill("kinh doanh duoc")
    page.get_by_role("button", name="Tìm", exact=True).click()
    clerk.shot("procedure-search")
    page.get_by_role("link", name=re.compile(re.escape(procedure["code"]))).first.click()
    page.get_by_label("Họ và tên").fill("Phạm Thị Dung")
    page.get_by_label("Số giấy tờ (CCCD/MST)").fill("031190000123")
    page.get_by_label("Điện thoại").fill("0912000111")
    clerk.shot("reception-form")
    page.get_by_test_id("receive").click()
    expect(page.get_by_test_id("form01")).to_be_visible()
    code = re.search(r"/ui/dossiers/([^/?]+)", page.url).group(1)
    expect(page.get_by_test_id("status")).to_have_text("Đã tiếp nhận")
    clerk.shot("received")
    page.goto(page.get_by_test_id("form01").get_attribute("href") and f"{site}/ui/dossiers/{code}/forms/01")
    expect(page.get_by_text(code).first).to_be_visible()
    assert page.locator("svg, img").count() >= 1  # the lookup QR code
    clerk.shot("form01")
    # the counter's worklist: the dossier is its own agency's (receiving unit), in the "all" view
    clerk.go("/ui/worklist")
    expect(page.get_by_test_id("worklist")).to_contain_text(code)
    clerk.shot("worklist")

    for username, step, fields in (("tp_duoc", "Phân công xử lý", None),
                                   ("cv_duoc", "Thẩm định hồ sơ", {"Ý kiến thẩm định": "Đủ điều kiện"}),
                                   ("ld_so", "Phê duyệt, ký kết quả", None),
                                   ("vt_so", "Vào sổ, phát hành kết quả", None)):
        person = Person(browser, site, username)
        if username == "tp_duoc":
            person.go("/ui/worklist?queue=new")
            expect(person.page.get_by_test_id("count-new")).to_have_text("1")
            person.shot("worklist-new")
        complete_open_step(person, code, step, fields)
        person.shot("after")
        person.close()

    page = clerk.go(f"/ui/dossiers/{code}")
    expect(page.get_by_test_id("status")).to_have_text("Đã có kết quả, chờ trả")
    page.locator("details[data-action='return-result'] summary").click()
    page.locator("details[data-action='return-result']").get_by_label("Số kết quả").fill("123/GCN-SYT")
    clerk.shot("return-result")
    page.locator("details[data-action='return-result']").get_by_role("button", name="Trả kết quả").click()
    expect(page.get_by_test_id("status")).to_have_text("Đã trả kết quả")
    expect(page.get_by_test_id("dvcqg")).to_have_text("10")
    expect(page.get_by_test_id("diagram").locator("[data-state='completed']").first).to_be_attached()
    clerk.shot("returned")
    clerk.close()

    # another commune's clerk is told the dossier is not theirs
    stranger = Person(browser, site, "mc_xa_khac")
    stranger.go(f"/ui/dossiers/{code}")
    expect(stranger.page.get_by_role("heading", name="Không có quyền")).to_be_visible()
    stranger.shot("denied")
    stranger.close()

    public = Person(browser, site, None)
    page = public.go("/public/lookup")
    page.get_by_label("Mã hồ sơ").fill(code)
    page.get_by_label("Số giấy tờ của người nộp").fill("031190000123")
    page.get_by_role("button", name="Tra cứu").click()
    expect(page.get_by_test_id("lookup-result").get_by_test_id("status")).to_have_text("Đã trả kết quả")
    public.shot("lookup")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Dossier lookup")).to_be_visible()
    public.shot("lookup-en")
    public.close()


def test_a_forged_form_token_is_refused_in_the_browser(browser, site, services, client):
    commune = units(client, "commune")[0]["code"]
    make_user(services, "mc_csrf", Role.RECEPTION_CLERK, commune)
    clerk = Person(browser, site, "mc_csrf")
    page = clerk.page
    procedure = procedures(client, level="commune")[0]
    clerk.go(f"/ui/reception?procedure={procedure['code']}")
    page.get_by_label("Họ và tên").fill("Lê Văn Cường")
    page.get_by_label("Số giấy tờ (CCCD/MST)").fill("031190000999")
    page.locator("[data-testid=reception-form] input[name=csrf_token]").evaluate("input => input.value = 'forged'")
    page.get_by_test_id("receive").click()
    expect(page.locator("[data-code='csrf_failed']")).to_be_visible()
    clerk.shot("csrf-refused")
    clerk.close()
    assert services.dossiers.worklist(unit=None, queue=None, status=None, procedure=None) == []


def test_admin_uploads_a_broken_version_fixes_it_and_a_dossier_runs_on_it(browser, site, services, client):
    source = (ROOT / "workflows" / "bpmn" / "syt_gcn_kinh_doanh_duoc.bpmn").read_text()
    # a service task has nothing to run it: refused at deploy, naming the element
    broken = re.sub(r'<bpmn:userTask id="issue"(.*?)</bpmn:userTask>',
                    r'<bpmn:serviceTask id="issue"\1</bpmn:serviceTask>', source, flags=re.S)
    fixed = source.replace('name="Phê duyệt, ký kết quả"', 'name="Phê duyệt và ký kết quả"')
    assert broken != source and fixed != source
    make_user(services, "quantri", Role.SYSTEM_ADMIN, "H31.SYT")
    commune = units(client, "commune")[0]["code"]
    make_user(services, "mc_v2", Role.RECEPTION_CLERK, commune)

    admin = Person(browser, site, "quantri")
    page = admin.go("/ui/admin/diagrams")
    upload = page.get_by_label("Tệp sơ đồ (.bpmn)")
    upload.set_input_files(files=[{"name": "syt_gcn_kinh_doanh_duoc.bpmn", "mimeType": "application/xml",
                                   "buffer": broken.encode()}])
    page.get_by_role("button", name="Triển khai").click()
    expect(page.get_by_test_id("deploy-errors")).to_contain_text("issue")
    admin.shot("deploy-refused")
    page.get_by_label("Tệp sơ đồ (.bpmn)").set_input_files(files=[{
        "name": "syt_gcn_kinh_doanh_duoc.bpmn", "mimeType": "application/xml", "buffer": fixed.encode()}])
    page.get_by_role("button", name="Triển khai").click()
    expect(page.get_by_test_id("deployed")).to_contain_text("syt_gcn_kinh_doanh_duoc · phiên bản 2")
    admin.shot("deployed")
    page.get_by_role("link", name="so với phiên bản 1").click()
    expect(page.get_by_test_id("diff")).to_contain_text("approval")
    admin.shot("diff")
    admin.close()

    clerk = Person(browser, site, "mc_v2")
    procedure = next(p for p in procedures(client, level="department") if p["diagramKey"] == "syt_gcn_kinh_doanh_duoc")
    page = clerk.go(f"/ui/reception?procedure={procedure['code']}")
    page.get_by_label("Họ và tên").fill("Vũ Văn Em")
    page.get_by_label("Số giấy tờ (CCCD/MST)").fill("031190000555")
    page.get_by_test_id("receive").click()
    expect(page.get_by_test_id("version")).to_have_text("syt_gcn_kinh_doanh_duoc · v2")
    clerk.shot("dossier-on-v2")
    clerk.close()
