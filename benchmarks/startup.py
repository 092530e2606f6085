"""How fast the command line answers: `graphlink --version` and every `--help`.

Each command line runs in a fresh process (`python -m graphlink.cli ...`, so a
version manager's shim in front of the console script is not counted; pass
`--script` to time the installed `graphlink` script instead), several times;
the table shows the median and the worst wall time against the target (0.3 s,
issue 17). The analysis is imported inside the commands, so these only load
click and graphlink's option parsing.

    python benchmarks/startup.py            # 5 runs per command line
    python benchmarks/startup.py --runs 9 --script
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

import click

TARGET = 0.3


def command_lines() -> list[list[str]]:
    from graphlink.cli import cli

    def walk(group: click.Group, prefix: list[str]):
        for name, command in sorted(group.commands.items()):
            yield [*prefix, name]
            if isinstance(command, click.Group):
                yield from walk(command, [*prefix, name])

    return [["--version"], ["--help"], *([*p, "--help"] for p in walk(cli, []))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--script", action="store_true",
                        help="time the installed `graphlink` script (with any shim in front)")
    args = parser.parse_args(argv)
    if args.script:
        found = shutil.which("graphlink")
        if found is None:
            parser.error("no graphlink script on PATH (pip install .)")
        head = [found]
    else:
        head = [sys.executable, "-m", "graphlink.cli"]
    worst_overall = 0.0
    print(f"{'command line':<40} {'median s':>9} {'worst s':>8}")
    for line in command_lines():
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run([*head, *line], check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
        worst_overall = max(worst_overall, max(times))
        print(f"{'graphlink ' + ' '.join(line):<40} {statistics.median(times):>9.3f} "
              f"{max(times):>8.3f}")
    verdict = "within" if worst_overall < TARGET else "OVER"
    print(f"\nworst {worst_overall:.3f} s: {verdict} the {TARGET} s target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
