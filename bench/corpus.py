"""MIWG corpus: deploy rate before/after normalisation and parse time per file (`python -m bench.corpus`)."""

import argparse
import statistics
import time
from pathlib import Path

from app.engine import parsing
from app.engine.normalise import Normalised
from app.engine.parsing import SourceFile, parse_files
from app.errors import MotcuaError

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "miwg"


def flag_only(tree, filename: str) -> Normalised:  # the engine as it was: only the lone-process flag
    processes = tree.getroot().findall(f"{{{parsing.BPMN_NS}}}process")
    if len(processes) == 1 and processes[0].get("isExecutable") is None:
        processes[0].set("isExecutable", "true")
    return Normalised()


def parses(path: Path) -> bool:
    try:
        parse_files([SourceFile(path.name, path.read_bytes())])
    except MotcuaError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5, help="parses per file; the best is kept")
    args = parser.parse_args()
    files = sorted(args.corpus.rglob("*.bpmn"))
    if not files:
        raise SystemExit(f"no .bpmn files under {args.corpus}")
    after = [path for path in files if parses(path)]
    normalise = parsing.normalise
    parsing.normalise = flag_only
    try:
        before = [path for path in files if parses(path)]
    finally:
        parsing.normalise = normalise
    times: list[tuple[float, str]] = []
    for path in files:
        best = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            parses(path)
            best = min(best, time.perf_counter() - started)
        times.append((best, path.relative_to(args.corpus).as_posix()))
    seconds = [t for t, _ in times]
    slowest = max(times)
    print(f"MIWG corpus {args.corpus}: {len(files)} files")
    print(f"  deploy before normalisation: {len(before)}/{len(files)}")
    print(f"  deploy after normalisation:  {len(after)}/{len(files)}")
    print(f"  parse time per file (best of {args.repeat}): median {statistics.median(seconds) * 1000:.1f} ms, "
          f"max {slowest[0] * 1000:.1f} ms ({slowest[1]})")


if __name__ == "__main__":
    main()
