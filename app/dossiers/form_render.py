"""Presentation of the forms: Jinja2 to HTML and the very same HTML to PDF with fpdf2, plus the QR codes.

Templates and fonts belong to the web layer (api/web); the route passes their location in as a
Traversable, so this module never imports `api`.
"""

import io
import unicodedata
from collections.abc import Callable
from datetime import datetime
from importlib.abc import Traversable
from importlib.resources import as_file
from typing import Any
from urllib.parse import quote

import segno
from fpdf import FPDF
from fpdf.enums import Align
from fpdf.fonts import TextStyle
from fpdf.html import HTML2FPDF
from jinja2 import Environment, FunctionLoader, StrictUndefined, TemplateNotFound
from markupsafe import Markup

from app.calendar.workdays import LOCAL_TZ

FONT_FAMILY = "dejavu"
FONTS = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
SIGNATURES_MM = 30
LINE_HEIGHT = 1.1
QR_IMAGE = "qr.png"  # the <img src> of the QR code in the PDF rendering; mapped to the PNG bytes


# --- QR code of the public lookup ----------------------------------------------------------------

def lookup_url(public_base_url: str, code: str) -> str:
    return f"{public_base_url.rstrip('/')}/public/lookup?code={quote(code, safe='.-_')}"


def qr_svg(content: str) -> str:
    """Inline SVG (no XML declaration) for the HTML page."""
    return segno.make(content, error="m", micro=False).svg_inline(scale=3, border=4, svgclass="qr",
                                                                  title="Mã QR tra cứu hồ sơ")


def qr_png(content: str) -> bytes:
    """The same QR code as PNG, for the PDF."""
    out = io.BytesIO()
    segno.make(content, error="m", micro=False).save(out, kind="png", scale=8, border=4)
    return out.getvalue()


# --- presentation: Jinja2 to HTML, and the same HTML to PDF ----------------------------------------

def fmt_datetime(value: datetime | None) -> str:
    """dd/MM/yyyy HH:mm in Asia/Ho_Chi_Minh."""
    return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M") if value else ""


def fmt_date(value: datetime | None) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y") if value else ""


def fmt_long_date(value: datetime | None) -> str:
    if not value:
        return "ngày ..... tháng ..... năm ........"
    local = value.astimezone(LOCAL_TZ)
    return f"ngày {local.day:02d} tháng {local.month:02d} năm {local.year}"


def fmt_time_of_day(value: datetime | None) -> str:
    if not value:
        return ""
    local = value.astimezone(LOCAL_TZ)
    return f"{local.hour:02d} giờ {local.minute:02d} phút, {fmt_long_date(value)}"


def fmt_money(value: int | None) -> str:
    return f"{int(value or 0):,}".replace(",", ".") + " đồng"


def _nfc(value: Any) -> Any:
    """Every printed string in composed form: fonts without shaping misplace combining marks (NFD input)."""
    if isinstance(value, Markup):
        return Markup(unicodedata.normalize("NFC", str(value)))
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


class FormRenderer:
    """Renders a form context; `assets` is the web folder holding templates/forms/ and static/fonts/."""

    def __init__(self, assets: Traversable) -> None:
        self.assets = assets
        self.templates = assets / "templates" / "forms"
        self.fonts = assets / "static" / "fonts"
        self.env = Environment(loader=FunctionLoader(self._load), autoescape=True, undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True, finalize=_nfc, auto_reload=False)
        self.env.filters.update(datetime=fmt_datetime, date=fmt_date, longdate=fmt_long_date,
                                timeofday=fmt_time_of_day, money=fmt_money)

    def _load(self, name: str) -> tuple[str, None, Callable[[], bool]]:
        if "/" in name or "\\" in name or not name.endswith(".html"):
            raise TemplateNotFound(name)
        path = self.templates / name
        if not path.is_file():
            raise TemplateNotFound(name)
        return path.read_text(encoding="utf-8"), None, lambda: True

    def html(self, context: dict[str, Any]) -> str:
        return self._render(context, pdf=False)

    def _render(self, context: dict[str, Any], *, pdf: bool) -> str:
        template = self.env.get_template(context["form"].template)
        extra: dict[str, Any] = {"pdf": pdf, "qr_image": QR_IMAGE}
        if not pdf:
            extra["qr_svg"] = qr_svg(context["lookup_url"])
        return template.render(**context, **extra)

    def pdf(self, context: dict[str, Any]) -> bytes:
        markup = self._render(context, pdf=True)
        landscape = context["form"].landscape
        pdf = _FormPDF(orientation="L" if landscape else "P", unit="mm", format="A4")
        pdf.set_margins(left=20 if landscape else 25, top=15, right=15)
        pdf.set_auto_page_break(auto=True, margin=16)
        pdf.set_creator("motcua")
        pdf.footer_text = f"{context['form'].label} · {context['dossier']['code']}"
        pdf.set_lang("vi")
        for style, name in FONTS.items():
            with as_file(self.fonts / name) as path:
                pdf.add_font(FONT_FAMILY, style, str(path))
        pdf.set_font(FONT_FAMILY, size=9 if landscape else 9.5)
        pdf.add_page()
        qr = qr_png(context["lookup_url"]) if context["form"].number == "01" else None
        black = "#000000"
        heading = TextStyle(font_family=FONT_FAMILY, font_style="B", font_size_pt=13, color=black,
                            t_margin=4, b_margin=0.5, l_margin=Align.C)
        pdf.write_html(
            markup,
            font_family=FONT_FAMILY,
            table_line_separators=True,
            li_prefix_color=black,
            image_map=lambda src: _only_qr(src, qr),
            tag_styles={"h1": heading,
                        "h2": TextStyle(font_family=FONT_FAMILY, font_style="B", font_size_pt=11, color=black,
                                        t_margin=2, b_margin=0.3),
                        "p": TextStyle(t_margin=1.0, b_margin=0)},
        )
        return bytes(pdf.output())


def _only_qr(src: str, qr: bytes | None) -> io.BytesIO:
    """The PDF shows no picture but the QR code: never a file path or URL from the markup."""
    if src != QR_IMAGE or qr is None:
        raise ValueError(f"unexpected image in a form: {src[:40]!r}")
    return io.BytesIO(qr)


class _FormHTML(HTML2FPDF):
    """fpdf2's HTML reader with three print tweaks: a table starts from the plain body font (fpdf2 would give
    every cell without <b>/<i> the font the previous paragraph ended with), paragraphs get a little line
    spacing, and a signature block moves whole to the next page rather than split from its names."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "p" and "style" not in dict(attrs):
            attrs = [*attrs, ("style", f"line-height: {LINE_HEIGHT}")]  # wrapped lines a little apart
        if tag == "table":
            self._end_paragraph()
            self.pdf.set_font(FONT_FAMILY, "", self.font_size_pt)
            if "signatures" in (dict(attrs).get("class") or "").split() and self.pdf.will_page_break(SIGNATURES_MM):
                self.pdf._perform_page_break()  # as fpdf2's own page breaks do; a signature block stays whole
        super().handle_starttag(tag, attrs)


class _FormPDF(FPDF):
    HTML2FPDF_CLASS = _FormHTML
    footer_text = ""

    def footer(self) -> None:
        """Which form of which dossier, and page n of N, at the foot of every page."""
        self.set_y(-11)
        self.set_font(FONT_FAMILY, "", 7.5)
        self.cell(0, 4, f"{self.footer_text} · Trang {self.page_no()}/{{nb}}", align="R")
