"""CSV and XLSX files of a service-quality report: one line per group, Vietnamese headers, rates as 0–1."""

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from app.reports.periodic import PeriodicReport
from app.reports.shapes import QualityReport, ReportRow

# (header, attribute, is a rate)
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("Mã nhóm", "group", False),
    ("Tên", "group_name", False),
    ("Tiếp nhận", "received", False),
    ("Đã giải quyết", "finished", False),
    ("Rút hồ sơ", "withdrawn", False),
    ("Đúng hạn", "on_time", False),
    ("Trễ hạn", "late", False),
    ("Trễ hạn có văn bản xin lỗi", "overdue_with_apology", False),
    ("Đang quá hạn", "open_overdue", False),
    ("Nộp trực tuyến", "online", False),
    ("Trực tuyến toàn trình", "full_online", False),
    ("Có phí, lệ phí", "fee_bearing", False),
    ("Đã thanh toán", "paid", False),
    ("Thanh toán trực tuyến", "paid_online", False),
    ("Kết quả điện tử", "e_results", False),
    ("Số hoá", "digitised", False),
    ("Tái sử dụng", "reused", False),
    ("Lượt đánh giá", "ratings", False),
    ("Phản ánh", "complaints", False),
    ("Điểm đánh giá TB", "rating_average", False),
    ("Tỷ lệ đúng hạn", "on_time_rate", True),
    ("Tỷ lệ trực tuyến", "online_rate", True),
    ("Tỷ lệ toàn trình", "full_online_rate", True),
    ("Tỷ lệ TTTT/hồ sơ có phí", "online_payment_rate", True),
    ("Tỷ lệ TTTT/giao dịch", "online_payment_share", True),
    ("Tỷ lệ kết quả điện tử", "e_result_rate", True),
    ("Tỷ lệ số hoá", "digitisation_rate", True),
    ("Tỷ lệ tái sử dụng", "reuse_rate", True),
    ("Tỷ lệ phản ánh", "complaint_rate", True),
    ("Mức độ hài lòng", "satisfaction_rate", True),
    ("Điểm QĐ 766", "points", False),
    ("Điểm tối đa", "points_max", False),
)


def to_csv(report: QualityReport) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for header, _, _ in COLUMNS])
    for row in report.rows:
        writer.writerow(["" if (v := getattr(row, attr)) is None else v for _, attr, _ in COLUMNS])
    # The byte-order mark makes Excel open Vietnamese text as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(report: QualityReport) -> bytes:
    book = Workbook()
    write_sheet(book.active, title_of(report), report.rows)
    book.active.title = "Báo cáo"
    return save(book)


def periodic_xlsx(report: PeriodicReport) -> bytes:
    """One sheet per grouping; sheet titles are the Vietnamese headings."""
    book = Workbook()
    book.remove(book.active)
    for heading, section in report.sections:
        write_sheet(book.create_sheet(heading), f"Báo cáo {report.label}: {title_of(section)}", section.rows)
    return save(book)


def write_sheet(sheet: Worksheet, title: str, rows: Sequence[ReportRow]) -> None:
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([header for header, _, _ in COLUMNS])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([getattr(row, attr) for _, attr, _ in COLUMNS])
        for cell, (_, _, is_rate) in zip(sheet[sheet.max_row], COLUMNS, strict=True):
            if is_rate:
                cell.number_format = "0.00%"
    sheet.freeze_panes = "C3"
    sheet.column_dimensions["B"].width = 40


def title_of(report: QualityReport) -> str:
    return (f"Chất lượng giải quyết TTHC từ {report.period_from:%d/%m/%Y} đến {report.period_to:%d/%m/%Y} "
            f"(nhóm theo {report.group_by})")


def save(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
