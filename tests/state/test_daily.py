"""Daily use (issue 17): `--since` periods, the totals line, and a CLI that answers at once.

`--since 7d` / `2w` counts back whole days from the date of the newest shop's
creation in DATASET (for a delta scored against a state, the newest shop of
the delta), so a report re-run later gives the same answer. The sign-up table
ends with one line of totals by flag; with `--output` that line and the path
of the full report go to standard error. `graphlink --version` and every
`--help` import no part of the analysis (benchmarks/startup.py times them).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

import graphlink as gl
from graphlink import api
from graphlink.cli import cli
from graphlink.core.errors import GraphlinkError
from graphlink.core.period import parse_since, resolve_since


def _run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize(("given", "date"), [("7d", "2025-06-24"), ("2w", "2025-06-17"),
                                             ("1d", "2025-06-30"), ("0d", "2025-07-01"),
                                             ("2025-02-01", "2025-02-01")])
def test_a_period_counts_back_from_the_newest_shop(small_dataset, given, date):
    # the newest shop of the small dataset was created on 2025-07-01
    result = _run("report", "signups", small_dataset, "--since", given, "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["since"] == date
    same = _run("report", "signups", small_dataset, "--since", date, "--format", "json")
    assert json.loads(same.stdout)["signups"] == payload["signups"]


def test_the_python_api_takes_periods_too(analysis):
    newest = analysis.dataset.shops["created_at"].max().date()
    day = str(newest - pd.Timedelta(days=14))
    assert analysis.signups("2w").equals(analysis.signups(day))
    assert api.signups_report(analysis, "2w").payload["since"] == day


@pytest.mark.parametrize("bad", ["7", "d7", "7x", "7 days", "2026-13-01", "2026-9-1", "-3d"])
def test_a_bad_since_is_a_usage_error(small_dataset, bad):
    result = _run("report", "signups", small_dataset, "--since", bad)
    assert result.exit_code == 2
    assert "neither a date (YYYY-MM-DD) nor a period (7d, 2w)" in result.output


def test_a_period_needs_a_shop_to_count_from():
    with pytest.raises(GraphlinkError, match="give a date"):
        resolve_since("7d", pd.Series([], dtype="datetime64[ns]"))
    assert parse_since(" 30D ") == "30d"


def test_a_delta_counts_back_from_its_own_newest_shop(world, tmp_path):
    from test_state import split_world

    base, delta, new, _ = split_world(world, tmp_path / "split", 60)
    state = tmp_path / "state"
    api.analyse_into_state(base, state)

    def week_before(folder) -> str:
        newest = pd.read_csv(folder / "shops.csv", dtype=str)["created_at"].max()
        return str((pd.Timestamp(newest) - pd.Timedelta(days=7)).date())

    assert week_before(base) != week_before(delta)
    # a fresh state: the newest shop of the state; a delta: the newest shop of the delta
    assert api.signups_with_state(base, state, "7d").payload["since"] == week_before(base)
    report = api.signups_with_state(delta, state, "7d")
    assert report.payload["since"] == week_before(delta)
    assert {s["shop_id"] for s in report.payload["signups"]} <= set(new)


def test_the_table_ends_with_the_totals_and_output_names_the_full_report(small_dataset,
                                                                        tmp_path):
    table = _run("report", "signups", small_dataset, "--since", "2025-01-01")
    last = table.stdout.rstrip("\n").splitlines()[-1]
    assert last.startswith("3 sign-ups since 2025-01-01: ") and last.endswith(" none")
    assert table.stderr == ""
    for fmt in ("json", "html", "csv", "table"):
        path = tmp_path / f"signups.{fmt}"
        result = _run("report", "signups", small_dataset, "--since", "2025-01-01", "--format",
                      fmt, "-o", path)
        assert result.exit_code == 0 and result.stdout == ""
        assert result.stderr == f"{last}; full report: {path}\n"
        assert path.stat().st_size > 0


# --- a CLI that answers at once ------------------------------------------------------------

HEAVY = ("pandas", "numpy", "matplotlib", "networkx", "igraph", "pyarrow", "graphlink.api",
         "loaders")

_PROBE = """
import sys, click
from graphlink.cli import cli

def walk(group, prefix):
    for name, command in group.commands.items():
        yield [*prefix, name]
        if isinstance(command, click.Group):
            yield from walk(command, [*prefix, name])

for args in [["--version"], ["--help"]] + [[*p, "--help"] for p in walk(cli, [])]:
    try:
        cli(args, prog_name="graphlink", standalone_mode=False)
    except SystemExit:
        pass
print(" ".join(m for m in {heavy!r} if m in sys.modules))
"""


def test_version_and_every_help_import_no_analysis():
    probe = _PROBE.format(heavy=HEAVY)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert "graphlink, version" in result.stdout and "Usage: graphlink" in result.stdout
    assert result.stdout.splitlines()[-1] == "", "imported: " + result.stdout.splitlines()[-1]


def test_the_package_still_exports_its_api_lazily():
    assert gl.analyse is api.analyse and gl.load is api.load
    assert {"analyse", "load", "generate_world", "Dataset", "DatasetError"} <= set(dir(gl))
    with pytest.raises(AttributeError):
        gl.no_such_name  # noqa: B018
