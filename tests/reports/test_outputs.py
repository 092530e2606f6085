"""Output paths: refused before any work, written whole or not at all (issue 17).

Every command is walked: each one with an ``--output``, ``--out`` or
``--state`` option is run with a path that cannot be written (a missing
folder, a file where a folder should be, a folder where the file should be,
a place without write access) and must answer with one ``error:`` line naming
the path and the reason, exit 1, no traceback, and no dataset loaded.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import graphlink.reports.outputs as outputs
import graphlink.reports.report as report_module
import loaders
from graphlink.cli import cli
from graphlink.reports.outputs import (
    OutputError,
    atomic_file,
    check_output_file,
    check_output_folder,
)
from graphlink.reports.report import Report, write

# the arguments each command needs besides the output path; DS = a dataset folder,
# MODEL = a model file. A new command with an output option must be added here.
COMMANDS = {
    "check": ["DS"],
    "demo": [],
    "clusters": ["DS"],
    "report signups": ["DS", "--since", "2025-01-01"],
    "report changes": ["DS"],
    "report factories": ["DS"],
    "report spotcheck": ["DS"],
    "model train": ["DS"],
    "model show": ["MODEL"],
    "neo4j push": ["DS"],
    "neo4j query": ["graph_summary"],
    "neo4j queries": [],
    "review confirm": ["S1", "--match", "S1"],
    "review dismiss": ["S1", "--match", "S1"],
    "review list": [],
    "review queue": ["DS"],
    "analyse": ["DS"],
    "explain": ["DS", "S1"],
    "report all": ["DS", "--since", "2025-01-01", "--output-dir", "never-made"],
}
# commands whose --state is required: given a writable one when another option is tested
NEEDS_STATE = {"report changes", "review confirm", "review dismiss", "review list",
               "review queue", "analyse"}
OPTIONS = ("output", "out", "state")


def _walk(group: click.Group, prefix: str = ""):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _walk(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def _output_options() -> list[tuple[str, str, str]]:
    """(command, option name, its flag) for every output option of every command."""
    found = []
    for name, command in _walk(cli):
        for param in command.params:
            if isinstance(param, click.Option) and param.name in OPTIONS:
                found.append((name, param.name, max(param.opts, key=len)))
    return found


def test_every_command_with_an_output_option_is_walked():
    named = {name for name, _, _ in _output_options()}
    assert named <= set(COMMANDS), f"add these commands to COMMANDS: {named - set(COMMANDS)}"
    assert {"check", "report signups", "model train", "neo4j push", "demo"} <= named


def _unwritable_folder(tmp_path: Path) -> Path | None:
    """A folder no file can be created in: read-only by mode, or (as root, who ignores
    modes) a place of the system that refuses writes."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    candidates = [folder, Path("/sys"), Path("/proc/sys")]
    for candidate in candidates:
        try:
            outputs._try_create(candidate)
        except OSError:
            return candidate
    return None


@pytest.fixture
def no_work(monkeypatch):
    """Loading a dataset (the first step of any work) fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("the command started working before checking its output path")

    monkeypatch.setattr(loaders, "load", refuse)


@pytest.fixture
def model_file(tmp_path) -> Path:
    path = tmp_path / "model.json"
    path.write_text("{}", encoding="utf-8")
    return path


def _bad_paths(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """kind -> (path, the reason the message must give)."""
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("x", encoding="utf-8")
    paths = {"missing folder": (tmp_path / "missing-folder" / "x.json", "does not exist"),
             "file as folder": (a_file / "x.json", "is not a folder")}
    locked = _unwritable_folder(tmp_path)
    if locked is not None:
        paths["no permission"] = (locked / "x.json", "")
    return paths


@pytest.mark.parametrize(("command", "option", "flag"), _output_options())
def test_an_unwritable_output_is_refused_before_any_work(tmp_path, small_dataset, model_file,
                                                        no_work, monkeypatch, command, option,
                                                        flag):
    monkeypatch.delenv("GRAPHLINK_STATE", raising=False)
    args = [str(small_dataset) if a == "DS" else str(model_file) if a == "MODEL" else a
            for a in COMMANDS[command]]
    extra = ["--state", str(tmp_path / "state")] if command in NEEDS_STATE and \
        option != "state" else []
    formats = [[]]
    if any(p.name == "fmt" for p in dict(_walk(cli))[command].params):
        formats = [["--format", fmt] for fmt in ("table", "csv", "json", "html")]
    cases = [(kind, path, reason, fmt) for kind, (path, reason) in _bad_paths(tmp_path).items()
             for fmt in formats]
    for kind, path, reason, fmt in cases:
        if option in ("out", "state"):
            if kind == "missing folder":
                continue  # a folder option's folder is made, with its parents
            path = path.parent  # a folder option: the folder itself
        result = CliRunner().invoke(cli, [*command.split(), *args, *extra, *fmt, flag,
                                          str(path)])
        where = f"{command} {' '.join(fmt)} {flag} ({kind})"
        assert result.exit_code == 1, (where, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            (where, result.exception)
        assert "Traceback" not in result.output
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: cannot write "), (where, lines)
        assert str(path) in lines[0] and reason in lines[0], (where, lines)


def test_a_folder_given_as_the_output_file_is_refused(tmp_path, small_dataset, no_work):
    result = CliRunner().invoke(cli, ["check", str(small_dataset), "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == f"error: cannot write {tmp_path}: it is a folder (give a file name)\n"


def test_a_read_only_file_system_is_named(tmp_path, monkeypatch):
    def read_only(path, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(outputs.os, "open", read_only)
    with pytest.raises(OutputError, match="read-only file system"):
        check_output_file(tmp_path / "x.json")
    with pytest.raises(OutputError, match="the state folder .*: read-only file system"):
        check_output_folder(tmp_path / "state", "state folder")


def test_folder_options_may_name_a_folder_still_to_create(tmp_path):
    check_output_folder(tmp_path / "new" / "deeper", "state folder")
    assert not (tmp_path / "new").exists()  # checked, nothing made
    assert list(tmp_path.iterdir()) == []


def test_standard_output_and_devices_are_always_writable():
    check_output_file(None)
    check_output_file("-")
    check_output_file("/dev/null")
    with atomic_file("/dev/null") as out:  # written directly: /dev/null stays a device
        out.write(b"x")
    assert not Path("/dev/null").is_file()


# --- whole or not at all -----------------------------------------------------------------


def _report(rows: int = 3) -> Report:
    items = [{"shop_id": f"S{i}", "flag": "none"} for i in range(rows)]
    return Report("t", {"schema": "graphlink.test/1", "items": items}, items)


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "html"])
def test_a_failed_write_leaves_the_earlier_file_and_no_temporary(tmp_path, monkeypatch, fmt):
    target = tmp_path / f"report.{fmt}"
    target.write_text("the earlier report", encoding="utf-8")

    def broken(*args, **kwargs):
        yield b'{"schema": '
        raise RuntimeError("disk trouble half-way")

    monkeypatch.setattr(report_module, "_json_chunks", broken)
    monkeypatch.setattr(report_module, "_html_chunks", broken)
    monkeypatch.setattr(report_module, "render",
                        lambda *a: (_ for _ in ()).throw(RuntimeError("disk trouble")))
    with pytest.raises(RuntimeError):
        write(_report(), fmt, target)
    assert target.read_text(encoding="utf-8") == "the earlier report"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "html"])
def test_a_report_replaces_the_file_whole_and_keeps_its_mode(tmp_path, fmt):
    target = tmp_path / f"report.{fmt}"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    write(_report(), fmt, target)
    assert "S2" in target.read_text(encoding="utf-8")
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_a_symbolic_link_is_followed_not_replaced(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write(_report(), "csv", link)
    assert link.is_symlink() and "S1" in real.read_text(encoding="utf-8")


def test_the_cli_writes_whole_files(tmp_path, small_dataset):
    target = tmp_path / "model.json"
    result = CliRunner().invoke(cli, ["model", "train", str(small_dataset), "-o", str(target)])
    assert result.exit_code == 0, result.output
    shown = CliRunner().invoke(cli, ["model", "show", str(target), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "model.json"]
