"""The demo generator fills the tables that reports and worklists read, and the figures add up."""

from datetime import date

from typer.testing import CliRunner

from app.cli import cli
from app.reports.generator import generate
from app.settings import get_settings


def test_generated_dossiers_add_up_in_every_grouping(services):
    made = generate(services.db, 700, year=2025, seed=3, batch=250)
    assert made.dossiers == 700 and made.documents >= 700
    year = (date(2025, 1, 1), date(2025, 12, 31))
    (city,) = services.reports.service_quality(*year, "city").rows
    assert city.received == 700
    assert city.ratings == made.ratings
    for group_by in ("unit", "procedure", "sector", "level"):
        rows = services.reports.service_quality(*year, group_by).rows
        assert sum(r.received for r in rows) == 700, group_by
        assert sum(r.late for r in rows) == city.late, group_by
        assert sum(r.paid_online for r in rows) == city.paid_online, group_by
    assert 0 < city.on_time_rate < 1 and 0 < city.online_rate < 1 and 0 < city.digitisation_rate <= 1
    # a second run adds dossiers with fresh codes
    generate(services.db, 50, year=2025, seed=3)
    assert services.reports.service_quality(*year, "city").rows[0].received == 750
    assert services.dossiers.worklist(unit=None, queue="in_progress", status=None, procedure=None, limit=20)


def test_cli_seed_demo(database_url, services, monkeypatch):
    monkeypatch.setenv("MOTCUA_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["seed-demo", "--dossiers", "30", "--year", "2024"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "Đã tạo 30 hồ sơ" in result.output
    (city,) = services.reports.service_quality(date(2024, 1, 1), date(2024, 12, 31), "city").rows
    assert city.received == 30
