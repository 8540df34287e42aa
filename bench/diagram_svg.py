"""SVG render time per diagram: `python -m bench.diagram_svg [--repeat N]` (shipped + ../shared corpus)."""

import argparse
import re
import statistics
import time
from pathlib import Path

from app.engine.diagram_svg import render_svg

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "miwg"
SHAPE = re.compile(rb"<(?:[\w-]+:)?BPMNShape[\s>/]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    files = sorted((ROOT / "workflows" / "bpmn").glob("*.bpmn"))
    files += sorted(CORPUS.rglob("*.bpmn")) if CORPUS.is_dir() else []
    rows = []
    for path in files:
        content = path.read_bytes()
        render_svg(content)  # warm-up: imports, lxml parser
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            svg = render_svg(content)
            times.append((time.perf_counter() - started) * 1000)
        shapes = len(SHAPE.findall(content))
        rows.append((path.relative_to(ROOT.parent).as_posix(), len(content), shapes, len(svg),
                     statistics.median(times), max(times)))
    print(f"{'file':<55} {'bytes':>8} {'shapes':>6} {'svg':>7} {'median ms':>9} {'max ms':>7}")
    for name, size, shapes, svg_size, median, worst in rows:
        print(f"{name:<55} {size:>8} {shapes:>6} {svg_size:>7} {median:>9.2f} {worst:>7.2f}")
    largest = max(rows, key=lambda r: r[2])
    print(f"\nlargest diagram by shapes: {largest[0]} ({largest[2]} shapes, {largest[1]} bytes): "
          f"median {largest[4]:.2f} ms, max {largest[5]:.2f} ms over {args.repeat} renders")
    biggest = max(rows, key=lambda r: r[1])
    print(f"largest file by bytes: {biggest[0]} ({biggest[1]} bytes): median {biggest[4]:.2f} ms, "
          f"max {biggest[5]:.2f} ms")


if __name__ == "__main__":
    main()
