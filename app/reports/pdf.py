"""The periodic report as a landscape A4 PDF (fpdf2 tables, DejaVu fonts for Vietnamese)."""

from importlib.abc import Traversable
from importlib.resources import as_file

from fpdf import FPDF
from fpdf.fonts import FontFace

from app.reports.pages import local_time, number, percent
from app.reports.periodic import PeriodicReport
from app.reports.shapes import ReportRow

FONT = "dejavu"
FONTS = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
HEADINGS = ("Tên", "Tiếp nhận", "Đã giải quyết", "Đúng hạn", "Trễ hạn", "Có xin lỗi", "Trực tuyến",
            "Toàn trình", "TT trực tuyến", "Số hoá", "Hài lòng", "Điểm QĐ 766")
WIDTHS = (70, 18, 20, 18, 16, 16, 18, 18, 20, 16, 18, 19)


def cells(row: ReportRow) -> tuple[str, ...]:
    return (row.group_name, number(row.received), number(row.finished), percent(row.on_time_rate),
            number(row.late), number(row.overdue_with_apology), percent(row.online_rate),
            percent(row.full_online_rate), percent(row.online_payment_rate), percent(row.digitisation_rate),
            percent(row.satisfaction_rate),
            f"{number(row.points)} / {row.points_max}" if row.points is not None else "–")


def periodic_pdf(report: PeriodicReport, fonts: Traversable) -> bytes:
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_margins(left=15, top=12, right=12)
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_creator("motcua")
    pdf.set_lang("vi")
    for style, name in FONTS.items():
        with as_file(fonts / name) as path:
            pdf.add_font(FONT, style, str(path))
    pdf.add_page()
    pdf.set_font(FONT, "", 9)
    pdf.cell(0, 5, "SỞ Y TẾ THÀNH PHỐ HẢI PHÒNG", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 13)
    pdf.multi_cell(0, 7, f"Báo cáo kết quả giải quyết thủ tục hành chính {report.label}", align="C",
                   new_x="LMARGIN", new_y="NEXT")
    first = report.sections[0][1]
    pdf.set_font(FONT, "", 9)
    pdf.multi_cell(0, 5, f"Hồ sơ tiếp nhận từ {first.period_from:%d/%m/%Y} đến {first.period_to:%d/%m/%Y}; "
                         f"số liệu đến {local_time(first.as_of)}.", align="C", new_x="LMARGIN", new_y="NEXT")
    for index, (heading, section) in enumerate(report.sections, start=1):
        pdf.ln(3)
        pdf.set_font(FONT, "B", 11)
        pdf.cell(0, 6, f"{index}. {heading}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 8)
        if not section.rows:
            pdf.cell(0, 5, "Không có hồ sơ nào được tiếp nhận trong kỳ.", new_x="LMARGIN", new_y="NEXT")
            continue
        with pdf.table(col_widths=WIDTHS, text_align=("LEFT", *["RIGHT"] * (len(WIDTHS) - 1)),
                       headings_style=FontFace(emphasis="BOLD"), line_height=4.5) as table:
            table.row(HEADINGS)
            for row in section.rows:
                table.row(cells(row))
    return bytes(pdf.output())
