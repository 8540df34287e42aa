"""A non-editable install finds its migrations and shipped diagrams without the source tree or the cwd."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_installed_package_migrates_and_deploys_from_any_directory(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", "var", ".git", "build", "*.egg-info",
                                                                  "__pycache__", ".pytest_cache", "bench"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(source)], check=True, capture_output=True)
    shutil.rmtree(source)  # nothing may come from the source tree any more
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target),
           "MOTCUA_DATABASE_URL": f"sqlite:///{tmp_path / 'installed.db'}"}

    def motcua(*args: str) -> str:
        code = "import sys; from app.cli import main; sys.argv = ['motcua', *sys.argv[1:]]; main()"
        done = subprocess.run([sys.executable, "-c", code, *args], cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    where = subprocess.run([sys.executable, "-c", "import app, migrations, workflows; "
                            "print(app.__file__, migrations.__file__, workflows.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout
    assert all(part.startswith(str(target)) for part in where.split()), where
    motcua("db", "upgrade")
    first = motcua("deploy", "--shipped")
    assert "reference_procedure" in first
    assert "không" in motcua("deploy", "--shipped")  # identical XML: no new version
    assert not any(elsewhere.iterdir()), "commands wrote into the working directory"
