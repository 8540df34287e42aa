"""The page texts in English, for the toggle; Vietnamese is written in the templates and is the default."""

EN: dict[str, str] = {
    "Đăng nhập": "Sign in", "Đăng xuất": "Sign out", "Tên đăng nhập": "Username", "Mật khẩu": "Password",
    "Danh sách hồ sơ": "Worklist", "Tiếp nhận hồ sơ": "Receive a dossier", "Tra cứu hồ sơ": "Dossier lookup",
    "Mới tiếp nhận": "New", "Chờ bổ sung": "Waiting supplement", "Đang xử lý": "In progress",
    "Sắp đến hạn": "Due soon", "Quá hạn": "Overdue", "Chờ trả kết quả": "To return", "Đã rút": "Withdrawn",
    "Tất cả": "All", "Mã hồ sơ": "Dossier code", "Thủ tục": "Procedure", "Người nộp": "Applicant",
    "Trạng thái": "Status", "Hẹn trả": "Appointment", "Còn (ngày làm việc)": "Left (working days)",
    "Lọc": "Filter", "Sắp xếp": "Sort", "Hẹn trả sớm nhất": "Earliest appointment",
    "Hẹn trả muộn nhất": "Latest appointment", "Mới nhận trước": "Newest first", "Không có hồ sơ": "No dossiers",
    "Đơn vị": "Unit", "Bước hiện tại": "Current step", "Giấy tờ": "Documents", "Lịch sử xử lý": "History",
    "Sơ đồ quy trình": "Process diagram", "Thao tác": "Actions", "Biểu mẫu": "Forms", "Thời hạn": "Deadlines",
    "Ngày tiếp nhận": "Received", "Đơn vị tiếp nhận": "Receiving unit", "Cơ quan giải quyết": "Competent unit",
    "Kênh nộp": "Channel", "Lệ phí": "Fees", "Đã nộp lệ phí": "Fee paid", "Hoàn thành bước": "Complete step",
    "Yêu cầu bổ sung": "Request supplement", "Đã nhận bổ sung": "Supplement received", "Từ chối": "Refuse",
    "Gia hạn (kèm thư xin lỗi)": "Extend (with apology)", "Rút hồ sơ": "Withdraw", "Trả kết quả": "Return result",
    "Lý do": "Reason", "Số ngày làm việc": "Working days", "Số kết quả": "Result number", "Ghi chú": "Note",
    "Thực hiện": "Submit", "Tìm thủ tục": "Find a procedure", "Tìm": "Search", "Chọn": "Choose",
    "Giấy tờ phải nộp": "Required documents", "Bản chính": "Originals", "Bản sao": "Copies",
    "Họ và tên": "Full name", "Số giấy tờ (CCCD/MST)": "ID number", "Điện thoại": "Phone",
    "Địa chỉ": "Address", "Loại người nộp": "Applicant type", "Công dân": "Citizen", "Doanh nghiệp": "Business",
    "Cơ quan, tổ chức": "Agency", "Khác": "Other", "Tại quầy": "Counter", "Trực tuyến": "Online",
    "Bưu chính": "Post", "Tiếp nhận": "Receive", "In giấy tiếp nhận (Mẫu 01)": "Print receipt (Form 01)",
    "Tiền mặt": "Cash", "Chuyển khoản": "Transfer", "Hình thức nộp phí": "Payment channel",
    "Tra cứu": "Look up", "Số giấy tờ của người nộp": "Applicant's ID number", "Không có quyền": "Access denied",
    "Quay lại": "Back", "Tài liệu tái sử dụng từ hồ sơ": "Reused from dossier", "Đính kèm bản quét": "Attach scan",
    "Hồ sơ đã được tiếp nhận": "Dossier received", "Mã DVCQG": "DVCQG code", "Thời điểm": "Time",
    "Sự kiện": "Event", "Người thực hiện": "Actor", "Không có bước nào đang mở cho bạn": "No open step for you",
    "Miễn phí": "Free", "Quản trị": "Administration", "Đã gia hạn": "Extended", "Bước đang mở": "Open steps",
    "Đã xong": "Done", "Đang làm": "Current", "Chưa đến": "Pending", "Ngày": "Date", "Cổng dịch vụ công": "Portal",
    "Đã hoàn thành bước": "Step completed", "Bước đang chờ vai trò của tôi": "Open steps for my role",
    # public rating and admin catalogue / versions
    "Cảm ơn ông/bà đã đánh giá.": "Thank you for your rating.", "Đánh giá mức độ hài lòng": "Rate our service",
    "Mức hài lòng": "Satisfaction", "Rất hài lòng": "Very satisfied", "Hài lòng": "Satisfied",
    "Bình thường": "Neutral", "Không hài lòng": "Dissatisfied", "Rất không hài lòng": "Very dissatisfied",
    "Nhận xét": "Comment", "Phản ánh, kiến nghị (nếu có)": "Complaint or suggestion (optional)",
    "Gửi đánh giá": "Send rating", "Công khai kết quả giải quyết hồ sơ": "Service quality disclosure",
}


def translate(text: str, lang: str) -> str:
    return EN.get(text, text) if lang == "en" else text
