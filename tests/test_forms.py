"""The seven forms of Circular 03/2025 (Annex I) through REST: HTML content, PDF text and image, the QR code."""

import io
import re
import shutil
import subprocess
import unicodedata
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import zxingcpp
from lxml import html as lxml_html
from PIL import Image, ImageDraw
from pypdf import PdfReader
from sqlalchemy import update

from app.calendar.workdays import LOCAL_TZ
from app.dossiers import form_render, forms
from persistence.models import HumanTask
from tests.onestop import (
    act,
    advance_to,
    dossier,
    install_catalogue,
    open_tasks,
    procedures,
    receive,
    reception_body,
    units,
)

ADDRESS = "Số 12 Lạch Tray, phường Ngô Quyền, thành phố Hải Phòng"
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")


@pytest.fixture
def onestop(services, client):
    install_catalogue(services)
    return client


@pytest.fixture
def department_procedure(onestop) -> dict:
    candidates = [p for p in procedures(onestop, level="department") if not p["mohCentralized"]]
    return max(candidates, key=lambda p: (bool(p["fees"]), len([d for d in p["documents"] if d["required"]])))


@pytest.fixture
def reception_unit(onestop) -> dict:
    return next(u for u in units(onestop, "division") if "Một cửa" in u["name"])


@pytest.fixture
def lookup_base(services) -> str:
    return services.settings.public_base_url.rstrip("/")


def new_dossier(client, procedure: dict, unit: dict, **kwargs) -> dict:
    body = reception_body(procedure, unit["code"], **kwargs)
    body["applicant"]["address"] = ADDRESS
    body["documents"][0]["digitised"] = True
    return receive(client, body)


def get_form(client, code: str, form: str, fmt: str = "html", expect: int = 200):
    response = client.get(f"/api/v1/dossiers/{code}/forms/{form}", params={"format": fmt})
    assert response.status_code == expect, response.text
    return response


def local(iso: str | None) -> str:
    return datetime.fromisoformat(iso).astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M") if iso else ""


def grid(page: str) -> list[list[str]]:
    """The cells of the page's data table, header row first."""
    tree = lxml_html.fromstring(page)
    return [[" ".join(cell.text_content().split()) for cell in row.xpath("./th|./td")]
            for row in tree.xpath('//table[contains(@class, "grid")]//tr')]


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def decode_qr(image: Image.Image) -> str:
    found = zxingcpp.read_barcodes(image.convert("L"))
    assert found, "no QR code found in the image"
    return found[0].text


def svg_qr(page: str) -> str:
    """Rasterise the inline SVG QR code of a page (segno's path: M/m moves, h runs of dark modules), decode it."""
    svg = re.search(r"<svg\b[^>]*>.*?</svg>", page, re.S)
    assert svg, "no inline SVG in the page"
    markup = svg.group(0)
    scale = float(re.search(r"scale\(([\d.]+)\)", markup).group(1))
    size = round(float(re.search(r'width="([\d.]+)"', markup).group(1)) / scale)
    x = y = 0.0
    dark: set[tuple[int, int]] = set()
    for command, args in re.findall(r"([MmHh])([-\d. ]+)", re.search(r' d="([^"]+)"', markup).group(1)):
        numbers = [float(n) for n in args.split()]
        if command == "M":
            x, y = numbers
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            dark.update((int(x) + i, int(y)) for i in range(int(numbers[0])))
            x += numbers[0]
    pixels = 8
    image = Image.new("L", (size * pixels, size * pixels), 255)
    draw = ImageDraw.Draw(image)
    for column, row in dark:
        draw.rectangle((column * pixels, row * pixels, (column + 1) * pixels - 1, (row + 1) * pixels - 1), fill=0)
    return decode_qr(image)


def assert_problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def assert_form_page(page: str, number: str) -> None:
    assert '<html lang="vi">' in page
    assert "<script" not in page.lower() and "javascript:" not in page.lower() and " on" + "load=" not in page
    assert "@page" in page and "@media print" in page and "A4" in page
    assert all(line in page for line in MOTTO)
    assert f"Mẫu số {number}" in page
    assert forms.FORMS[number].title.upper() in page
    assert 'class="signatures"' in page


# --- Form 01: receipt and appointment -------------------------------------------------------------

def test_receipt_html_shows_what_the_circular_asks(onestop, department_procedure, reception_unit, lookup_base):
    received = new_dossier(onestop, department_procedure, reception_unit)
    code = received["code"]
    response = get_form(onestop, code, "01")
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    page = response.text
    assert_form_page(page, "01")
    for text in (code, "Nguyễn Văn An", "001203004567", "0912345678", ADDRESS, department_procedure["name"],
                 reception_unit["name"], local(received["receivedAt"]), local(received["appointmentAt"]),
                 "mot_cua_1", "Trực tiếp"):
        assert text in page, text
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", page)
    rows = grid(page)
    assert rows[0][:4] == ["TT", "Tên giấy tờ", "Bản chính", "Bản sao"]
    for order, document in enumerate(received["documents"], start=1):
        assert rows[order][:4] == [str(order), document["name"], str(document["originals"]), str(document["copies"])]
    assert rows[1][4] == "Đã số hoá"
    assert rows[-1][1:4] == ["Cộng", str(sum(d["originals"] for d in received["documents"])),
                             str(sum(d["copies"] for d in received["documents"]))]
    for fee in department_procedure["fees"]:
        assert fee["name"] in page
    url = f"{lookup_base}/public/lookup?code={code}"
    assert form_render.lookup_url(lookup_base, code) == url
    assert form_render.qr_svg(url) in page, "the page embeds the module's QR code of the lookup URL"
    assert svg_qr(page) == url


def test_receipt_pdf_opens_with_its_code_words_and_qr(onestop, department_procedure, reception_unit, lookup_base,
                                                     tmp_path):
    code = new_dossier(onestop, department_procedure, reception_unit)["code"]
    response = get_form(onestop, code, "01", "pdf")
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f'filename="mau-01-{code}.pdf"' in response.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(response.content))
    text = unicodedata.normalize("NFC", "\n".join(page.extract_text() for page in reader.pages))
    for word in (code, "Độc lập - Tự do - Hạnh phúc", "GIẤY TIẾP NHẬN HỒ SƠ", "Nguyễn Văn An", "Mẫu số 01"):
        assert word in text, word
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == 1
    url = f"{lookup_base}/public/lookup?code={code}"
    assert decode_qr(images[0].image) == url
    assert decode_qr(Image.open(io.BytesIO(form_render.qr_png(url)))) == url

    if shutil.which("pdftoppm") is None:
        return  # the rendering check needs poppler-utils; the PDF itself is checked above
    (tmp_path / "form01.pdf").write_bytes(response.content)
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", str(tmp_path / "form01.pdf"),
                    str(tmp_path / "form01")], check=True, timeout=60)
    rendered = Image.open(next(tmp_path.glob("form01*.png")))
    assert rendered.size[1] > rendered.size[0] > 1500  # A4 portrait at 200 dpi
    assert decode_qr(rendered) == url, "the printed page's QR code must be scannable"


# --- Forms 02 to 05: only after their action -------------------------------------------------------

def test_forms_02_to_05_apply_only_after_their_action(onestop, department_procedure, reception_unit):
    first = new_dossier(onestop, department_procedure, reception_unit)["code"]
    second = new_dossier(onestop, department_procedure, reception_unit)["code"]
    for form in ("02", "03", "04", "05"):
        for fmt in ("html", "pdf"):
            assert_problem(get_form(onestop, first, form, fmt, expect=409), 409, "form_not_applicable")

    act(onestop, first, "supplement-request", {"reason": "Đơn đề nghị chưa có chữ ký",
                                               "documents": ["Đơn đề nghị có chữ ký", "Bản sao văn bằng"]})
    page = get_form(onestop, first, "02").text
    assert_form_page(page, "02")
    for text in (first, "Nguyễn Văn An", "Đơn đề nghị chưa có chữ ký", "Đơn đề nghị có chữ ký", "Bản sao văn bằng",
                 "mot_cua_1"):
        assert text in page, text
    act(onestop, first, "supplement-received", {"note": "Đã nhận đủ giấy tờ bổ sung"})
    assert "Đã nhận đủ giấy tờ bổ sung" in get_form(onestop, first, "02").text

    assert_problem(get_form(onestop, first, "04", expect=409), 409, "form_not_applicable")
    before = dossier(onestop, first)["appointmentAt"]
    extended = act(onestop, first, "extend", {"reason": "Cần xác minh văn bằng với cơ sở đào tạo", "days": 5})
    page = get_form(onestop, first, "04").text
    assert_form_page(page, "04")
    for text in (first, "Cần xác minh văn bằng với cơ sở đào tạo", local(before), local(extended["appointmentAt"])):
        assert text in page, text

    refused = act(onestop, first, "refuse", {"reason": "Văn bằng chuyên môn không hợp lệ"})
    page = get_form(onestop, first, "03").text
    assert_form_page(page, "03")
    assert "Văn bằng chuyên môn không hợp lệ" in page and local(refused["stoppedAt"]) in page
    assert_problem(get_form(onestop, first, "05", expect=409), 409, "form_not_applicable")

    withdrawn = act(onestop, second, "withdraw", {"reason": "Người nộp xin rút để hoàn thiện văn bằng"})
    page = get_form(onestop, second, "05").text
    assert_form_page(page, "05")
    assert "Người nộp xin rút để hoàn thiện văn bằng" in page and local(withdrawn["stoppedAt"]) in page
    assert_problem(get_form(onestop, second, "03", expect=409), 409, "form_not_applicable")

    for code, form in ((first, "02"), (first, "03"), (first, "04"), (second, "05")):
        response = get_form(onestop, code, form, "pdf")
        assert response.headers["content-type"] == "application/pdf"
        text = unicodedata.normalize("NFC", pdf_text(response.content))
        assert code in text and f"Mẫu số {form}" in text and "Hạnh phúc" in text


# --- Form 06: the control slip -----------------------------------------------------------------------

def test_control_slip_has_one_row_per_handover(onestop, services, department_procedure, reception_unit):
    received = new_dossier(onestop, department_procedure, reception_unit)
    code = received["code"]
    late = open_tasks(onestop, received)[0]
    with services.db.transaction() as session:  # this step's deadline passed before it was done
        session.execute(update(HumanTask).where(HumanTask.id == late["id"])
                        .values(due_at=datetime.now(UTC) - timedelta(hours=1)))
    advance_to(onestop, code, "return")
    act(onestop, code, "return-result", {"resultNumber": "15/GP-SYT"})
    done = onestop.get("/api/v1/tasks", params={"processInstanceId": received["processInstanceId"],
                                                "status": "completed"}).json()
    assert len(done) >= 2
    history = onestop.get(f"/api/v1/process-instances/{received['processInstanceId']}/history").json()
    ministry = [h for h in history if h["type"] == "message.received"]  # results coming back from the Ministry

    page = get_form(onestop, code, "06").text
    assert_form_page(page, "06")
    for text in (code, "Nguyễn Văn An", department_procedure["name"], local(received["receivedAt"])):
        assert text in page, text
    header, *rows = grid(page)
    assert header[:4] == ["TT", "Bên giao", "Bên nhận", "Nội dung"]
    assert [row[0] for row in rows] == [str(i) for i in range(1, len(rows) + 1)]
    assert len(rows) == 1 + len(done) + len(ministry)
    reception = rows[0]
    assert reception[1].startswith("Người nộp") and reception[2] == reception_unit["name"]
    assert reception[7] == "mot_cua_1" and reception[8] == "Đã tiếp nhận"
    by_step = {row[3]: row for row in rows[1:]}
    for task in done:
        row = by_step[task["name"]]
        assert row[4] == local(task["createdAt"]) and row[6] == local(task["completedAt"])
        assert row[5] == local(task["dueAt"])
        assert row[7] == task["completedBy"]
        assert row[8] == ("Quá hạn" if task["id"] == late["id"] else row[8])
        assert row[8] in ("Trước hạn", "Đúng hạn", "Quá hạn")
    assert by_step[late["name"]][8] == "Quá hạn"
    for previous, row in pairwise(rows):
        if row[3] in by_step and row[3] != "Nhận kết quả từ Bộ Y tế":
            assert row[1] == previous[2], "each step receives the dossier from the one before"
    text = pdf_text(get_form(onestop, code, "06", "pdf").content)
    assert code in text and "PHIẾU KIỂM SOÁT" in unicodedata.normalize("NFC", text)


# --- Form 07: the unit's monthly register --------------------------------------------------------------

def test_register_lists_the_units_dossiers_of_the_month(onestop, department_procedure, reception_unit):
    now = datetime.now(UTC)
    first = new_dossier(onestop, department_procedure, reception_unit, received_at=now - timedelta(minutes=2))
    second = new_dossier(onestop, department_procedure, reception_unit, received_at=now - timedelta(minutes=1))
    month_start = now.astimezone(LOCAL_TZ).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    earlier = new_dossier(onestop, department_procedure, reception_unit, received_at=month_start - timedelta(days=3))
    commune_procedure = procedures(onestop, level="commune")[0]
    commune = units(onestop, "commune")[0]
    elsewhere = new_dossier(onestop, commune_procedure, commune)
    withdrawn = act(onestop, first["code"], "withdraw", {"reason": "Người nộp xin rút"})

    def month(item: dict) -> tuple[int, int]:
        local_time = datetime.fromisoformat(item["receivedAt"]).astimezone(LOCAL_TZ)
        return local_time.year, local_time.month

    page = get_form(onestop, second["code"], "07").text
    assert_form_page(page, "07")
    header, *rows = grid(page)
    assert header[:4] == ["TT", "Mã hồ sơ", "Tên thủ tục hành chính", "Tên cá nhân, tổ chức"]
    expected = [d for d in (withdrawn, second) if month(d) == month(second)]
    assert [row[1] for row in rows] == [d["code"] for d in expected]
    assert earlier["code"] not in page and elsewhere["code"] not in page
    for order, (row, item) in enumerate(zip(rows, expected, strict=True), start=1):
        assert row[0] == str(order)
        assert row[2] == department_procedure["name"] and row[3] == "Nguyễn Văn An"
        assert row[4] == local(item["receivedAt"]) and row[5] == local(item["appointmentAt"])
        assert row[8] == item["statusLabel"]
    if withdrawn in expected:
        assert rows[0][7] == local(withdrawn["stoppedAt"]) and "Người nộp xin rút" in rows[0][9]
    year, number = month(second)
    assert f"{number:02d}/{year}" in page

    old_rows = grid(get_form(onestop, earlier["code"], "07").text)[1:]
    assert [row[1] for row in old_rows] == [earlier["code"]]
    pdf = get_form(onestop, second["code"], "07", "pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "SỔ THEO DÕI HỒ SƠ" in unicodedata.normalize("NFC", pdf_text(pdf.content))


# --- errors, escaping, text forms ---------------------------------------------------------------------

def test_unknown_form_dossier_or_format(onestop, department_procedure, reception_unit):
    code = new_dossier(onestop, department_procedure, reception_unit)["code"]
    assert_problem(get_form(onestop, code, "08", expect=404), 404, "unknown_form")
    assert_problem(get_form(onestop, code, "ab", expect=404), 404, "unknown_form")
    assert_problem(get_form(onestop, "KHONG-CO", "01", expect=404), 404, "not_found")
    assert_problem(get_form(onestop, code, "01", "docx", expect=422), 422, "validation_error")
    assert get_form(onestop, code, "1").status_code == 200


def test_applicant_text_is_escaped_and_composed(onestop, department_procedure, reception_unit):
    body = reception_body(department_procedure, reception_unit["code"])
    body["applicant"]["name"] = unicodedata.normalize("NFD", "Trần <b>Thị</b> Hoà")
    code = receive(onestop, body)["code"]
    page = get_form(onestop, code, "01").text
    assert "Trần &lt;b&gt;Thị&lt;/b&gt; Hoà" in page
    assert "<b>Thị</b>" not in page and unicodedata.normalize("NFD", "Trần") not in page
    text = unicodedata.normalize("NFC", pdf_text(get_form(onestop, code, "01", "pdf").content))
    assert "Trần <b>Thị</b> Hoà" in text


def test_step_results_against_their_deadline():
    due = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # 17:00 in Hải Phòng
    now = datetime(2026, 3, 20, tzinfo=UTC)
    assert forms._timeliness(due - timedelta(days=1), due, now) == "Trước hạn"
    assert forms._timeliness(due - timedelta(hours=2), due, now) == "Đúng hạn"
    assert forms._timeliness(due + timedelta(minutes=1), due, now) == "Quá hạn"
    assert forms._timeliness(None, due, now) == "Đang xử lý, quá hạn"
    assert forms._timeliness(None, due, due - timedelta(hours=1)) == "Đang xử lý"
    assert form_render.fmt_datetime(due) == "10/03/2026 17:00"
    assert form_render.fmt_money(1234500) == "1.234.500 đồng"
