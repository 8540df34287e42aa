"""The `motcua` command: serve, worker, migrate, deploy."""

from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from app.settings import Settings, get_settings

cli = typer.Typer(help="motcua: dịch vụ quy trình BPMN cho thủ tục hành chính một cửa", no_args_is_help=True)
db_cli = typer.Typer(help="Cơ sở dữ liệu", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
catalogue_cli = typer.Typer(help="Danh mục thủ tục và đơn vị", no_args_is_help=True)
cli.add_typer(catalogue_cli, name="catalogue")
outbox_cli = typer.Typer(help="Hàng đợi gửi đi (DVCQG, hệ thống Bộ Y tế, thanh toán)", no_args_is_help=True)
cli.add_typer(outbox_cli, name="outbox")
users_cli = typer.Typer(help="Người dùng (cán bộ)", no_args_is_help=True)
cli.add_typer(users_cli, name="users")
apikeys_cli = typer.Typer(help="Khóa API cho hệ thống tích hợp", no_args_is_help=True)
cli.add_typer(apikeys_cli, name="apikeys")
audit_cli = typer.Typer(help="Nhật ký kiểm toán", no_args_is_help=True)
cli.add_typer(audit_cli, name="audit")
demo_cli = typer.Typer(help="Dữ liệu mẫu cho trình diễn và đo hiệu năng", no_args_is_help=True)
cli.add_typer(demo_cli, name="demo")
import_cli = typer.Typer(help="Nhập dữ liệu từ hệ thống cũ", no_args_is_help=True)
cli.add_typer(import_cli, name="import")
worklist_cli = typer.Typer(help="Danh sách hồ sơ theo hàng đợi", no_args_is_help=True)
cli.add_typer(worklist_cli, name="worklist")
console = Console()


def shipped_diagrams() -> list[Path]:
    """The procedure diagrams installed with the package (workflows/bpmn), found without the cwd."""
    folder = files("workflows") / "bpmn"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith((".bpmn", ".dmn")))


@db_cli.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the Alembic migrations shipped with the package."""
    from persistence.db import Database
    from persistence.migrate import upgrade

    settings = get_settings()
    db = Database(settings.database_url)
    try:
        upgrade(db.engine, revision)
    finally:
        db.dispose()
    console.print(f"[green]Đã nâng cấp cơ sở dữ liệu[/] {db.engine.url.render_as_string(hide_password=True)}")


@cli.command()
def deploy(
    paths: Annotated[list[Path] | None, typer.Argument(help="BPMN/DMN files, deployed together")] = None,
    shipped: Annotated[bool, typer.Option("--shipped", help="Also deploy every shipped diagram")] = False,
) -> None:
    """Deploy diagrams; identical XML keeps its existing version."""
    from app.container import build_services
    from app.engine.parsing import SourceFile
    from app.errors import MotcuaError

    targets = list(paths or []) + (shipped_diagrams() if shipped else [])
    if not targets:
        console.print("[red]Không có tệp nào để triển khai[/]")
        raise typer.Exit(2)
    services = build_services(get_settings())
    table = Table("tệp", "quy trình", "phiên bản", "mới?")
    failed = False
    try:
        for path in targets:
            try:
                result = services.deployments.deploy([SourceFile(path.name, path.read_bytes())], name=path.name,
                                                     actor="cli")
            except (MotcuaError, OSError) as exc:
                failed = True
                console.print(f"[red]{path}: {exc}[/]")
                for item in getattr(exc, "problems", []):
                    console.print(f"  - {item.element_id or '-'}: {item.message}")
                continue
            for process in result.processes:
                table.add_row(path.name, process.key, str(process.version), "không" if process.duplicate else "có")
    finally:
        services.close()
    console.print(table)
    if failed:
        raise typer.Exit(1)


@catalogue_cli.command("load")
def catalogue_load() -> None:
    """Insert or refresh the shipped units and procedures (admin-created entries are kept)."""
    from app.container import build_services

    services = build_services(get_settings())
    try:
        units, procedures = services.catalogue.load_shipped()
    finally:
        services.close()
    console.print(f"[green]Đã nạp {units} đơn vị và {procedures} thủ tục[/]")


def _with_services(action):
    """Run `action(services)`; a domain error prints its Vietnamese message and exits 1."""
    from app.container import build_services
    from app.errors import MotcuaError

    services = build_services(get_settings())
    try:
        return action(services)
    except MotcuaError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(1) from None
    finally:
        services.close()


@users_cli.command("create")
def users_create(
    username: str,
    role: Annotated[str, typer.Option(help="reception_clerk, specialist, … system_admin")],
    unit: Annotated[str, typer.Option(help="Mã đơn vị, ví dụ H31.SYT.01")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          envvar="MOTCUA_NEW_USER_PASSWORD")],
    full_name: Annotated[str | None, typer.Option("--name")] = None,
) -> None:
    """Create a staff user (the password is asked for, never echoed or logged)."""
    user = _with_services(lambda s: s.accounts.create_user(username, password, role, unit, full_name))
    console.print(f"[green]Đã tạo[/] {user.username} ({user.role}, {user.unit})")


@users_cli.command("list")
def users_list() -> None:
    """List staff users."""
    table = Table("tên đăng nhập", "họ tên", "vai trò", "đơn vị", "hoạt động")
    for user in _with_services(lambda s: s.accounts.list_users()):
        table.add_row(user.username, user.full_name, user.role, user.unit, "có" if user.active else "khóa")
    console.print(table)


@users_cli.command("disable")
def users_disable(username: str) -> None:
    """Lock a user out at once (their tokens stop working on the next request)."""
    _with_services(lambda s: s.accounts.set_active(username, False))
    console.print(f"[yellow]Đã khóa[/] {username}")


@apikeys_cli.command("create")
def apikeys_create(
    name: str,
    role: Annotated[str, typer.Option()] = "integrator",
    unit: Annotated[str | None, typer.Option()] = None,
    scope: Annotated[list[str] | None, typer.Option(help="Nhóm API được dùng (tag), ví dụ messages")] = None,
) -> None:
    """Create an API key; it is printed once and only its hash is kept."""
    new = _with_services(lambda s: s.accounts.create_api_key(name, role, unit, scope or []))
    console.print(f"Khóa số {new.id} ({name}); lưu lại ngay, sẽ không hiển thị lần nữa:")
    print(new.key)


@apikeys_cli.command("revoke")
def apikeys_revoke(key_id: int) -> None:
    """Revoke an API key by its number."""
    _with_services(lambda s: s.accounts.revoke_api_key(key_id))
    console.print(f"[yellow]Đã thu hồi khóa số {key_id}[/]")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 at the first edited or missing row."""
    result = _with_services(lambda s: s.audit.verify())
    if result["ok"]:
        console.print(f"[green]Chuỗi nhật ký nguyên vẹn[/]: {result['checked']} dòng")
        return
    console.print(f"[red]Nhật ký bị sửa hoặc xóa[/] tại dòng {result['firstBadEventId']} "
                  f"(đã kiểm {result['checked']})")
    raise typer.Exit(1)
@demo_cli.command("generate")
def demo_generate(
    dossiers: Annotated[int, typer.Option(min=1, max=10_000_000, help="Số hồ sơ cần tạo")] = 10_000,
    year: Annotated[int, typer.Option(min=2000, max=2100, help="Năm tiếp nhận")] = 2025,
    seed: Annotated[int, typer.Option(help="Hạt giống ngẫu nhiên (cùng hạt, cùng dữ liệu)")] = 766,
) -> None:
    """Insert realistic demo dossiers (documents, payments, ratings, late ones) with bulk inserts."""
    import time

    from app.container import build_services
    from app.reports.generator import generate

    services = build_services(get_settings())
    started = time.perf_counter()
    try:
        made = generate(services.db, dossiers, year=year, seed=seed)
    finally:
        services.close()
    console.print(f"[green]Đã tạo {made.dossiers} hồ sơ, {made.documents} thành phần, {made.ratings} đánh giá[/] "
                  f"trong {time.perf_counter() - started:.1f} s")


cli.command("seed-demo", help="Như `motcua demo generate`.")(demo_generate)


@worklist_cli.command("recount")
def worklist_recount() -> None:
    """Count every queue again from the dossiers (the triggers keep the counts; this repairs them if ever needed)."""
    rows = _with_services(lambda s: s.worklist_counts.recount())
    console.print(f"[green]Đã đếm lại số hồ sơ trong các hàng đợi[/]: {rows} dòng")


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How `motcua serve` runs the API under uvicorn (the HTTP bench's profiled server runs it so too)."""
    from app.observability.logs import logging_config

    return {"app": "api.main:create_app", "factory": True, "proxy_headers": True,
            "log_config": logging_config(settings.log_format, settings.log_level),
            "timeout_keep_alive": settings.http_keep_alive_seconds}


@cli.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes")] = 1,
    worker: Annotated[bool, typer.Option("--worker/--no-worker",
                                         help="Also run the timer worker (default: MOTCUA_WORKER_ENABLED)")] = True,
) -> None:
    """Serve the REST API (OpenAPI at /docs), with the background worker in a thread."""
    import uvicorn

    from app.container import build_services
    from app.observability.logs import configure

    settings = get_settings()
    configure(settings.log_format, settings.log_level)
    background = None
    if worker and settings.worker_enabled:
        services = build_services(settings)
        thread, stop = services.worker.start_thread()
        background = (services, thread, stop)
    try:
        uvicorn.run(host=host, port=port, workers=workers, **uvicorn_options(settings))
    finally:
        if background is not None:
            services, thread, stop = background
            stop.set()
            thread.join(timeout=30)
            services.close()


@cli.command("worker")
def run_worker(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit")] = False,
) -> None:
    """Fire due timers, deliver the outbox and run the deadline scans until interrupted (SIGINT/SIGTERM)."""
    import gc
    import signal
    import threading

    from app.container import build_services
    from app.observability.logs import configure

    settings = get_settings()
    configure(settings.log_format, settings.log_level)
    services = build_services(settings)
    if settings.gc_freeze_after_startup:
        gc.freeze()  # see Settings.gc_freeze_after_startup
    try:
        if once:
            result = services.worker.tick()
            console.print(f"claimed={result.claimed} done={result.done} failed={result.failed}")
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        services.worker.run(stop)
    finally:
        services.close()


@cli.command("archive")
def archive(
    finished_before: Annotated[str, typer.Option("--finished-before", help="YYYY-MM-DD (Hà Nội time, midnight)")],
) -> None:
    """Drop the workflow state of instances finished before a date; history and result variables stay."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        cutoff = datetime.strptime(finished_before, "%Y-%m-%d").replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    except ValueError:
        console.print(f"[red]Ngày không hợp lệ: '{finished_before}' (cần dạng YYYY-MM-DD)[/]")
        raise typer.Exit(2) from None
    archived = _with_services(lambda s: s.archiver.archive(cutoff))
    console.print(f"Đã lưu trữ {archived} phiên chạy kết thúc trước {finished_before}")


@outbox_cli.command("deliver")
def outbox_deliver(
    once: Annotated[bool, typer.Option("--once", help="Deliver what is due now, then stop")] = False,
    interval: Annotated[float, typer.Option(min=0.01, help="Seconds between polls when idle")] = 1.0,
) -> None:
    """Deliver due outbox rows to the configured receivers (several of these may run side by side)."""
    import time

    from app.container import build_dispatcher
    from persistence.db import Database

    settings = get_settings()
    db = Database(settings.database_url)
    dispatcher = build_dispatcher(settings, db)
    if not dispatcher.connectors:
        console.print("[yellow]Chưa cấu hình MOTCUA_DVCQG_BASE_URL / MOTCUA_MOH_BASE_URL / "
                      "MOTCUA_PAYMENT_BASE_URL: không có gì để gửi[/]")
    try:
        while True:
            outcome = dispatcher.deliver_due()
            if outcome.delivered or outcome.failed or outcome.incidents:
                console.print(f"gửi được {outcome.delivered}, lỗi {outcome.failed}, sự cố {outcome.incidents}")
            if once:
                break
            if not (outcome.delivered or outcome.failed):
                time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        db.dispose()


@cli.command()
def simulate(
    kind: Annotated[str, typer.Argument(help="dvcqg | moh | payment")],
    port: int = 8101,
    host: str = "127.0.0.1",
    fail_rate: Annotated[float, typer.Option(min=0, max=1)] = 0.0,
    timeout_rate: Annotated[float, typer.Option(min=0, max=1)] = 0.0,
    garbage_rate: Annotated[float, typer.Option(min=0, max=1)] = 0.0,
    slow_ms: Annotated[int, typer.Option(min=0)] = 0,
    callback_url: Annotated[str | None, typer.Option(help="motcua's callback URL for moh/payment")] = None,
    secret: Annotated[str | None, typer.Option(help="shared secret to sign callbacks")] = None,
) -> None:
    """Run a simulator of the national portal, the Ministry system or the payment platform."""
    import uvicorn

    from app.integrations.simulators import Faults, create_simulator

    if kind not in ("dvcqg", "moh", "payment"):
        console.print("[red]Chọn một trong: dvcqg, moh, payment[/]")
        raise typer.Exit(2)
    faults = Faults(fail_rate=fail_rate, timeout_rate=timeout_rate, garbage_rate=garbage_rate, slow_ms=slow_ms)
    app = create_simulator(kind, faults, callback_url=callback_url, secret=secret)  # type: ignore[arg-type]
    uvicorn.run(app, host=host, port=port, log_level="info")


@import_cli.command("dossiers")
def import_dossiers(
    file: Annotated[Path, typer.Argument(help="CSV (có dòng tiêu đề) hoặc JSON Lines (.jsonl)", exists=True)],
    mapping: Annotated[Path | None, typer.Option("--mapping", help="Tệp YAML ánh xạ cột", exists=True)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Kiểm tra từng dòng, không ghi gì")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="Ghi báo cáo từng dòng (CSV)")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, max=16,
                                      help="Số tiến trình nhập song song (PostgreSQL; SQLite luôn 1)")] = 1,
) -> None:
    """Import finished and in-flight dossiers; re-running skips rows already imported (by legacy id)."""
    import csv

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from app.container import build_services
    from app.legacy.importer import LegacyImporter
    from app.legacy.parallel import import_in_processes
    from app.legacy.rows import Mapping, read_rows

    try:
        columns = Mapping.load(mapping)
    except (ValueError, OSError) as exc:
        console.print(f"[red]Tệp ánh xạ không hợp lệ[/]: {exc}")
        raise typer.Exit(2) from None
    rows = list(read_rows(file))
    settings = get_settings()
    if settings.database_url.startswith("sqlite"):
        jobs = 1  # one writer at a time: more processes would only queue on the lock
    outcomes = []
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("Kiểm tra" if dry_run else "Nhập hồ sơ", total=len(rows))

        def advance(done: int) -> None:
            progress.advance(task, done)

        if jobs > 1:
            outcomes = import_in_processes(settings, rows, columns, jobs=jobs, dry_run=dry_run, progress=advance)
        else:
            services = build_services(settings)
            try:
                outcomes = LegacyImporter(services.reception, services.inbound).import_rows(
                    rows, columns, dry_run=dry_run, progress=advance)
            finally:
                services.close()
    counts = {kind: sum(1 for o in outcomes if o.result == kind) for kind in ("imported", "skipped", "refused")}
    refused = [o for o in outcomes if o.result == "refused"]
    if refused:
        table = Table("dòng", "mã cũ", "lỗi", "lý do")
        for outcome in refused[:50]:
            table.add_row(str(outcome.line), outcome.legacy_id or "-", outcome.code or "-", outcome.reason or "")
        console.print(table)
    if report is not None:
        with report.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "legacy_id", "result", "code", "reason"])
            for o in outcomes:
                writer.writerow([o.line, o.legacy_id or "", o.result, o.code or "", o.reason or ""])
    label = "sẽ nhập" if dry_run else "đã nhập"
    console.print(f"{label} {counts['imported']}, bỏ qua (đã có) {counts['skipped']}, từ chối {counts['refused']}")
    if refused:
        raise typer.Exit(1)


def main() -> None:
    import getpass
    import sys

    from app.security import audit

    # Commands run from the shell are audited as the operating-system user who ran them.
    audit.current.set(audit.AuditContext(actor=f"cli:{getpass.getuser()}", role=None, unit=None,
                                         action=" ".join(["cli", *sys.argv[1:3]])[:255]))
    cli()


if __name__ == "__main__":
    main()
