"""Dossier statuses with their national portal (DVCQG) codes, and the worklist stage of each state."""

from enum import StrEnum


class Status(StrEnum):
    ACCEPTED = "accepted"                          # 2 đã tiếp nhận
    IN_PROGRESS = "in_progress"                    # 4 đang xử lý
    SUPPLEMENT_REQUESTED = "supplement_requested"  # 5 yêu cầu bổ sung
    REFUSED = "refused"                            # 3 không được tiếp nhận / từ chối giải quyết
    WITHDRAWN = "withdrawn"                        # 8 dừng xử lý (applicant withdrew, Form 05)
    CLOSED = "closed"                              # 8 dừng xử lý (no supplement within 15 days)
    FINISHED = "finished"                          # 9 đã có kết quả, chờ trả
    RETURNED = "returned"                          # 10 đã trả kết quả


DVCQG_CODE = {
    Status.ACCEPTED: 2,
    Status.IN_PROGRESS: 4,
    Status.SUPPLEMENT_REQUESTED: 5,
    Status.REFUSED: 3,
    Status.WITHDRAWN: 8,
    Status.CLOSED: 8,
    Status.FINISHED: 9,
    Status.RETURNED: 10,
}

LABEL_VI = {
    Status.ACCEPTED: "Đã tiếp nhận",
    Status.IN_PROGRESS: "Đang xử lý",
    Status.SUPPLEMENT_REQUESTED: "Chờ bổ sung hồ sơ",
    Status.REFUSED: "Từ chối giải quyết",
    Status.WITHDRAWN: "Đã rút hồ sơ, dừng xử lý",
    Status.CLOSED: "Dừng xử lý do quá hạn bổ sung hồ sơ",
    Status.FINISHED: "Đã có kết quả, chờ trả",
    Status.RETURNED: "Đã trả kết quả",
}

# Worklist queues (issue: new, waiting supplement, in progress, due soon, overdue, to return, withdrawn);
# "due soon" and "overdue" are computed from appointment times, the others are stored stages.
STAGES = ("new", "in_progress", "ministry", "supplement", "to_return", "done", "refused", "withdrawn")
QUEUES = ("new", "supplement", "in_progress", "due_soon", "overdue", "to_return", "withdrawn")
OPEN_STATUSES = (Status.ACCEPTED, Status.IN_PROGRESS, Status.SUPPLEMENT_REQUESTED)


def stage_of(status: Status, current_step: str | None, waiting_ministry: bool) -> str:
    if status == Status.SUPPLEMENT_REQUESTED:
        return "supplement"
    if status in (Status.WITHDRAWN, Status.CLOSED):
        return "withdrawn"  # the queue of stopped dossiers
    if status == Status.REFUSED:
        return "refused"
    if status == Status.RETURNED:
        return "done"
    if status == Status.FINISHED or current_step == "return":
        return "to_return"
    if waiting_ministry:
        return "ministry"
    if current_step in (None, "assign"):
        return "new"
    return "in_progress"


def stages_of(status: str) -> tuple[str, ...]:
    """The stages stage_of can give a dossier in this status (every stage for a status it does not know)."""
    if status not in Status.__members__.values():
        return STAGES
    steps = (None, "assign", "return", "appraise")
    found = {stage_of(Status(status), step, ministry) for step in steps for ministry in (False, True)}
    return tuple(stage for stage in STAGES if stage in found)
