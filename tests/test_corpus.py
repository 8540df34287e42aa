"""The BPMN MIWG test suite (../shared/corpus/miwg) deployed through HTTP, one file at a time.

Real diagrams from many tools: each must be deployed (201) or refused with a useful problem (422),
never a 500 and never a hang. Many use features the engine does not run; the refusals are counted.
Run with `pytest -s tests/test_corpus.py -k summary` to see the counts.
"""

import contextlib
import statistics
import time
from pathlib import Path

import httpx
import pytest

from app.engine import parsing
from app.engine.normalise import INSERTED
from app.engine.parsing import SourceFile, parse_files
from app.errors import MotcuaError
from bench.corpus import flag_only, parses
from tests.conftest import corpus_dir

CORPUS = corpus_dir()
FILES = sorted(CORPUS.rglob("*.bpmn")) if CORPUS.is_dir() else []
if not FILES:
    pytest.skip(f"MIWG corpus not found at {CORPUS} (it lives in the shared workspace, not in the repository)",
                allow_module_level=True)

HANG_GUARD_SECONDS = 5.0
PROBLEM_JSON = "application/problem+json"


def _name(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


def _deploy(client: httpx.Client, path: Path) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.post("/api/v1/deployments", files=[("file", (path.name, path.read_bytes(), "application/xml"))])
    return response, time.monotonic() - started


def _check(response: httpx.Response, elapsed: float, name: str) -> dict:
    assert elapsed < HANG_GUARD_SECONDS, f"{name}: answered after {elapsed:.1f} s"
    assert response.status_code in (201, 422), f"{name}: {response.status_code} {response.text}"
    body = response.json()
    if response.status_code == 422:
        assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON, name
        assert body.get("code"), f"{name}: {body}"
        assert isinstance(body.get("detail"), str) and body["detail"].strip(), f"{name}: {body}"
        for problem in body.get("errors") or []:  # each construct named, never one we inserted ourselves
            assert problem["message"].strip(), f"{name}: {body}"
            assert INSERTED not in (problem.get("elementId") or ""), f"{name}: {body}"
    else:
        assert body["processes"], f"{name}: deployed nothing: {body}"
    return body


@pytest.mark.parametrize("path", FILES, ids=[_name(p) for p in FILES])
def test_corpus_file_deploys_or_is_refused_clearly(client, path):
    _check(*_deploy(client, path), _name(path))


def test_corpus_summary(client):
    deployed: list[str] = []
    refused: dict[str, list[str]] = {}
    examples: dict[str, str] = {}
    http_times: list[float] = []
    for path in FILES:
        response, elapsed = _deploy(client, path)
        body = _check(response, elapsed, _name(path))
        http_times.append(elapsed)
        if response.status_code == 201:
            deployed.append(_name(path))
        else:
            refused.setdefault(body["code"], []).append(_name(path))
            examples.setdefault(body["code"], f"{body['detail']} [elementId={body.get('elementId')}]")

    parse_times = []  # parsing alone, in process: what the 5 s guard above is really about
    for path in FILES:
        started = time.monotonic()
        with contextlib.suppress(MotcuaError):
            parse_files([SourceFile(path.name, path.read_bytes())])
        parse_times.append(time.monotonic() - started)

    # The same files as the engine took them before normalisation (only the lone-process flag was set).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parsing, "normalise", flag_only)
        before = sum(parses(path) for path in FILES)
    assert before <= len(deployed)

    lines = [f"\nMIWG corpus: {len(FILES)} files, {len(deployed)} deployed ({before} before normalisation), "
             f"{len(FILES) - len(deployed)} refused"]
    lines += [f"  deployed: {', '.join(deployed)}"]
    for code, names in sorted(refused.items(), key=lambda item: (-len(item[1]), item[0])):
        lines.append(f"  {code:<24} {len(names):>3}  e.g. {examples[code]}")
    lines.append(f"  parse time (parse_files): median {statistics.median(parse_times) * 1000:.1f} ms, "
                 f"max {max(parse_times) * 1000:.1f} ms")
    lines.append(f"  HTTP deploy round trip:   median {statistics.median(http_times) * 1000:.1f} ms, "
                 f"max {max(http_times) * 1000:.1f} ms")
    print("\n".join(lines))
    assert len(deployed) + sum(len(names) for names in refused.values()) == len(FILES)
