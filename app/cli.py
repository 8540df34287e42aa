"""The `motcua` command: serve, migrate, deploy."""

from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.settings import get_settings

cli = typer.Typer(help="motcua: dịch vụ quy trình BPMN cho thủ tục hành chính một cửa", no_args_is_help=True)
db_cli = typer.Typer(help="Cơ sở dữ liệu", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
catalogue_cli = typer.Typer(help="Danh mục thủ tục và đơn vị", no_args_is_help=True)
cli.add_typer(catalogue_cli, name="catalogue")
demo_cli = typer.Typer(help="Dữ liệu mẫu cho trình diễn và đo hiệu năng", no_args_is_help=True)
cli.add_typer(demo_cli, name="demo")
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


@cli.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes")] = 1,
) -> None:
    """Serve the REST API (OpenAPI at /docs)."""
    import uvicorn

    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", proxy_headers=True)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
