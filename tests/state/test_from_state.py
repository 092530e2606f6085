"""Analyse once, report many (issue 19): `graphlink analyse --state`, every report,
`explain` and `report all` read from the saved analysis, byte for byte what a fresh
analysis writes; stale states said, or refused with --require-fresh; older runs
(without the saved analysis) neither break nor lose their history.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from click.testing import CliRunner

import graphlink as gl
from graphlink import api
from graphlink.cli import cli
from graphlink.core.errors import GraphlinkError
from graphlink.reports.report import load_schema, render
from graphlink.scoring import analysis as analysis_module
from graphlink.state import runs
from graphlink.state.lock import EXIT_BUSY, writer_lock
from graphlink.state.saved import FOLDER, model_version
from graphlink.state.store import State, StateError

SINCE = "120d"
REPORTS = {  # CLI words -> the library report of an analysis
    "signups": (["report", "signups", "--since", SINCE], lambda a: api.signups_report(a, SINCE)),
    "clusters": (["clusters"], api.clusters_report),
    "factories": (["report", "factories"], api.factories_report),
    "spotcheck": (["report", "spotcheck", "--budget", "15"],
                  lambda a: api.spotcheck_report(a, 15)),
}


def run(*args: str, env: dict | None = None, ok: bool = True):
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def saved(world, tmp_path_factory) -> Path:
    """A state folder with one run of ``world`` saved by `graphlink analyse`."""
    folder = tmp_path_factory.mktemp("from-state") / "state"
    out = run("analyse", world, "--state", folder, "--format", "json")
    payload = json.loads(out.stdout)
    jsonschema.validate(payload, load_schema("analyse"))
    assert payload["saved"] and payload["run"] == "R0001"
    return folder


@pytest.fixture(scope="module")
def flagged(analysis) -> str:
    """A shop with a direct tie to a banned shop (the case file has evidence)."""
    records = analysis.signup_records("3650d")
    return next(r["shop_id"] for r in records if r["flag"] in ("high", "medium")
                and r["matches"][0]["hops"] == 1)


# --- byte-identical to a fresh analysis --------------------------------------------------

@pytest.mark.parametrize("name", sorted(REPORTS))
@pytest.mark.parametrize("fmt", ["json", "html", "table", "csv"])
def test_report_from_state_is_byte_identical(world, analysis, saved, name, fmt):
    words, build = REPORTS[name]
    result = run(*words, world, "--state", saved, "--format", fmt)
    assert result.stdout == render(build(analysis), fmt)
    assert f"read from state {saved} run R0001" in result.stderr


def _filters(analysis) -> dict[str, tuple]:
    """(table, columns, filters) a report may ask for, on this world's shops and values."""
    shops = set(analysis.shops["shop_id"].iloc[::7])
    values = set(analysis.identifiers.values["value"].iloc[::5])
    return {
        "linked pairs": ("pairs", ["shop_a", "shop_b", "p"], [("p", ">=", 0.02)]),
        "combined pairs": ("pairs", ["shop_a", "shop_b", "via"], [("via", "!=", "")]),
        "pairs among shops": ("pairs", None, [[("shop_a", "in", shops),
                                               ("shop_b", "in", shops)]]),
        "evidence touching shops": ("evidence", None, [[("shop_a", "in", shops)],
                                                       [("shop_b", "in", shops)]]),
        "uses of shops": ("uses", None, [("shop_id", "in", shops)]),
        "values": ("values", ["kind", "value", "display"], [("value", "in", values)]),
        "nothing": ("evidence", None, [("shop_a", "in", set())]),
        "everything": ("values", None, None),
    }


@pytest.mark.parametrize("case", ["linked pairs", "combined pairs", "pairs among shops",
                                  "evidence touching shops", "uses of shops", "values",
                                  "nothing", "everything"])
def test_rows_read_from_state_are_the_analysis_rows(analysis, saved, case):
    table, columns, filters = _filters(analysis)[case]
    again = gl.open_state(saved)
    got = again.rows(table, columns, filters)
    assert not {"resolution", "evidence", "identifiers"} & set(again.__dict__)  # not read whole
    want = analysis.rows(table, columns, filters)
    assert len(want) or case in ("nothing", "combined pairs")  # 400 shops: none combined
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    # and once the part is read whole, from memory: the same again
    getattr(again, {"pairs": "resolution", "uses": "identifiers", "values": "identifiers"}
            .get(table, table))
    pd.testing.assert_frame_equal(again.rows(table, columns, filters).reset_index(drop=True),
                                  got.reset_index(drop=True))


def test_rows_name_a_missing_column_as_a_dataframe_does(analysis, saved):
    with pytest.raises(KeyError):
        gl.open_state(saved).rows("pairs", ["shop_a", "no_such_column"])
    with pytest.raises(KeyError):
        analysis.rows("pairs", ["shop_a", "no_such_column"])


@pytest.mark.parametrize("name", ["clusters", "factories"])
def test_cli_json_from_state_equals_cli_fresh(world, saved, name):
    words, _ = REPORTS[name]
    fresh = run(*words, world, "--format", "json").stdout
    assert run(*words, world, "--state", saved, "--format", "json").stdout == fresh


def test_open_state_gives_the_same_dataframes(analysis, saved):
    again = gl.open_state(saved)
    assert again.origin == {"state": str(saved), "run": "R0001"}
    for method, args in (("clusters", ()), ("signups", (SINCE,)), ("factories", ()),
                         ("spotcheck", (15,)), ("factory_context", ()), ("hubs", ())):
        pd.testing.assert_frame_equal(getattr(again, method)(*args),
                                      getattr(analysis, method)(*args), obj=method)
    pd.testing.assert_frame_equal(again.evidence, analysis.evidence)
    pd.testing.assert_frame_equal(again.resolution.pairs, analysis.resolution.pairs)
    assert model_version(again.model) == model_version(analysis.model)


def test_open_state_with_source_checks_freshness(world, saved, tmp_path):
    assert gl.open_state(saved, world).dataset.source == str(world)
    copy = shutil.copytree(world, tmp_path / "copy")  # same files: the state answers for it
    assert gl.open_state(saved, copy).dataset.source == str(copy)
    _touch(copy / "accounts.csv")
    with pytest.raises(api.StaleState, match="not fresh .*accounts.csv differ"):
        gl.open_state(saved, copy)
    with pytest.raises(StateError, match="no graphlink state here yet"):
        gl.open_state(tmp_path / "nothing")


# --- explain: the case file -------------------------------------------------------------

def test_explain_from_state_equals_fresh_but_for_where_it_was_read(world, analysis, saved,
                                                                   flagged):
    fresh = json.loads(render(api.explain_report(analysis, flagged), "json"))
    read = json.loads(run("explain", world, flagged, "--state", saved, "--format",
                          "json").stdout)
    jsonschema.validate(read, load_schema("explain"))
    assert (read["provenance"]["state"], read["provenance"]["run"]) == (str(saved), "R0001")
    assert (fresh["provenance"]["state"], fresh["provenance"]["run"]) == (None, None)
    for payload in (fresh, read):
        payload["provenance"].update(state=None, run=None)
    assert read == fresh
    for fmt in ("table", "html"):  # the same apart from the provenance line
        text = run("explain", world, flagged, "--state", saved, "--format", fmt).stdout
        assert "R0001" in text and flagged in text


def test_case_file_cites_file_line_fingerprint_and_model(world, analysis, flagged):
    payload = api.explain_report(analysis, flagged).payload
    assert payload["banned_ties"] and payload["flag"] in ("high", "medium")
    prov = payload["provenance"]
    assert prov["model_version"] == model_version(analysis.model)
    for f in prov["files"]:
        assert f["sha256"] == hashlib.sha256((world / f["file"]).read_bytes()).hexdigest()
    lines = {name: (world / name).read_text(encoding="utf-8").splitlines()
             for name in {f["file"] for f in prov["files"]}}
    accounts = analysis.dataset.accounts
    cited = 0
    for tie in payload["banned_ties"]:
        for item in tie["evidence"]:
            if item["kind"] == "path":
                continue
            for source in item["sources"]:
                # the cited physical line (header = line 1) names the shop or its account
                row = next(csv.reader([lines[source["file"]][source["line"] - 1]]))
                mine = {source["shop_id"], *accounts.loc[accounts["shop_id"] == source["shop_id"],
                                                         "account_id"]}
                assert mine & set(row), (source, row)
                cited += 1
    assert cited


def test_case_file_holds_no_clear_identifier(analysis, flagged):
    payload = api.explain_report(analysis, flagged).payload
    assert all("value" not in r for r in payload["identifiers"])
    phones = set(analysis.identifiers.uses.loc[analysis.identifiers.uses["kind"] == "phone",
                                               "value"])
    text = render(api.explain_report(analysis, flagged), "json")
    assert not any(p in text for p in phones if len(p) > 6)


def test_explain_unknown_shop_is_an_error(world, saved):
    result = run("explain", world, "NO-SUCH-SHOP", "--state", saved, ok=False)
    assert result.exit_code == 1 and "no shop 'NO-SUCH-SHOP'" in result.stderr


# --- report all ---------------------------------------------------------------------------

def test_report_all_writes_each_report_as_the_single_command_does(world, analysis, saved,
                                                                   tmp_path):
    out = tmp_path / "reports"
    result = run("report", "all", world, "--state", saved, "--since", SINCE, "--budget", "15",
                 "--output-dir", out, "--format", "json")
    summary = json.loads(result.stdout)
    jsonschema.validate(summary, load_schema("report-all"))
    assert summary["run"] == "R0001"
    assert {(f["report"], f["format"]) for f in summary["files"]} == {
        (r, f) for r in REPORTS for f in ("json", "html")}
    for name, (_, build) in REPORTS.items():
        report = build(analysis)
        for fmt in ("json", "html"):
            assert (out / f"{name}.{fmt}").read_text(encoding="utf-8") == render(report, fmt)
        jsonschema.validate(json.loads((out / f"{name}.json").read_text(encoding="utf-8")),
                            load_schema(report.payload["schema"].split(".")[1].split("/")[0]))


# --- stale states, --require-fresh, GRAPHLINK_STATE ---------------------------------------

@pytest.fixture
def copied(world, saved, tmp_path) -> tuple[Path, Path]:
    """A copy of the world and of its state (fresh for the copy)."""
    data = shutil.copytree(world, tmp_path / "world", copy_function=shutil.copy2)
    state = tmp_path / "state"
    run("analyse", data, "--state", state)
    return data, state


def _touch(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def test_stale_state_is_said_and_not_saved(copied, analysis):
    data, state = copied
    _touch(data / "shops.csv")
    result = run("clusters", data, "--state", state, "--format", "json")
    assert "is stale" in result.stderr and "shops.csv" in result.stderr
    assert json.loads(result.stdout)["shops"] == analysis.clusters().to_dict("records")
    assert [r["run"] for r in State.open(state).manifest["runs"]] == ["R0001"]


@pytest.mark.parametrize("words", [["clusters"], ["report", "factories"],
                                   ["report", "spotcheck"], ["report", "signups", "--since", "7d"],
                                   ["report", "changes"], ["explain", "__data__", "S000001"]])
def test_require_fresh_refuses_a_stale_state(copied, words):
    data, state = copied
    _touch(data / "devices.csv")
    words = [str(data) if w == "__data__" else w for w in words]
    args = [*words, "--state", state, "--require-fresh"]
    if words[0] != "explain":
        args.insert(len(words), data)
    result = run(*args, ok=False)
    assert result.exit_code == 1, result.output
    assert "not fresh" in result.stderr and "--require-fresh" in result.stderr
    assert "devices.csv" in result.stderr
    assert [r["run"] for r in State.open(state).manifest["runs"]] == ["R0001"]


def test_require_fresh_without_state_is_a_usage_error(world):
    result = run("clusters", world, "--require-fresh", ok=False, env={"GRAPHLINK_STATE": ""})
    assert result.exit_code == 2 and "--require-fresh needs --state" in result.output


def test_graphlink_state_variable_is_the_default(world, saved):
    result = run("clusters", world, "--format", "csv", env={"GRAPHLINK_STATE": str(saved)})
    assert f"read from state {saved} run R0001" in result.stderr


def test_model_with_state_is_a_usage_error(world, saved, tmp_path):
    model = tmp_path / "model.json"
    gl.open_state(saved).model.save(model)
    result = run("report", "factories", world, "--state", saved, "--model", model, ok=False)
    assert result.exit_code == 2 and "the state keeps its own model" in result.output


def test_analyse_again_is_a_no_op_and_a_new_file_a_new_run(copied):
    data, state = copied
    again = json.loads(run("analyse", data, "--state", state, "--format", "json").stdout)
    assert (again["saved"], again["run"], again["runs"]) == (False, "R0001", 1)
    _touch(data / "payments.csv")
    result = run("analyse", data, "--state", state)
    assert "saved as run R0002" in result.stdout and "graphlink report all" in result.stdout
    assert [r["run"] for r in State.open(state).manifest["runs"]] == ["R0001", "R0002"]


def test_analyse_waits_for_no_other_writer(copied):
    data, state = copied
    _touch(data / "shops.csv")
    with writer_lock(state, 0):
        result = run("analyse", data, "--state", state, ok=False)
    assert result.exit_code == EXIT_BUSY, result.output


def test_signups_with_state_reads_the_saved_analysis(world, analysis, saved):
    heard = []
    report = api.signups_with_state(world, saved, SINCE, notice=heard.append)
    assert render(report, "html") == render(api.signups_report(analysis, SINCE), "html")
    assert heard == [f"read from state {saved} run R0001"]


def test_linked_index_is_written_and_reports_read_the_same_without_it(copied):
    """A saved run carries its linked index (the rows the sign-up and spot-check reports
    read); a run saved before it (index removed here) gives the same bytes from the whole
    tables, and write_linked adds the index to it afterwards."""
    from graphlink.scoring.score import FLAGS, WEAK
    from graphlink.state.saved import LINKED, write_linked

    data, state = copied
    folder = State.open(state).tables / FOLDER
    index = {t: folder / f"{name}.parquet" for t, name in LINKED.items()}
    assert all(path.exists() for path in index.values())
    whole = pd.read_parquet(folder / "pairs.parquet")
    linked = pd.read_parquet(index["pairs"])
    assert 0 < len(linked) < len(whole)
    assert ((linked["p"] >= WEAK) | linked["via"].fillna("").ne("")).all()
    assert (linked["p"] < FLAGS["low"]).any()  # weak ties rank sign-ups: their pairs too
    # (the dataset named is the copy's; against a fresh analysis: the tests above)
    want = {name: render(build(gl.open_state(state)), "json")
            for name, (_, build) in REPORTS.items() if name in ("signups", "spotcheck")}
    for path in index.values():
        path.unlink()
    assert {n: render(build(gl.open_state(state)), "json") for n, (_, build) in
            REPORTS.items() if n in want} == want
    write_linked(State.open(state).tables)
    pd.testing.assert_frame_equal(pd.read_parquet(index["pairs"]), linked)
    # an index made with another floor (before weak ties ranked sign-ups) is not read
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    strong = pq.read_table(index["pairs"])
    strong = strong.filter(pc.greater_equal(strong["p"], FLAGS["low"]))
    pq.write_table(strong.replace_schema_metadata({}), index["pairs"])
    assert {n: render(build(gl.open_state(state)), "json") for n, (_, build) in
            REPORTS.items() if n in want} == want
    again = gl.open_state(state)
    assert {n: render(build(again), "json") for n, (_, build) in REPORTS.items()
            if n in want} == want
    assert "evidence" not in again.__dict__ and "resolution" not in again.__dict__


def test_page_index_is_written_and_pages_read_the_same_without_it(copied):
    """A saved run carries its page index (the rows the sign-up page's evidence graphs
    read for every shop flagged high); the page reads only it, and gives the same bytes
    as from the whole tables (index removed: a run saved before it) and for a page
    drawing a shop the index does not cover; write_page_index adds it afterwards."""
    from graphlink.state.saved import PAGE, SPOTCHECK_KEPT, SPOTCHECKS, write_page_index

    data, state = copied
    folder = State.open(state).tables / FOLDER
    index = {t: folder / f"{name}.parquet" for t, name in PAGE.items()}
    assert all(path.exists() for path in index.values())
    shops = pd.read_parquet(index["shops"])
    assert (shops["role"] == "drawn").any()
    whole = pd.read_parquet(folder / "pairs.parquet")
    assert 0 < len(pd.read_parquet(index["pairs"], columns=["_row"])) < len(whole)
    saved = gl.open_state(state)
    want = render(api.signups_report(saved, "3650d"), "html")
    assert "<svg" in want and "resolution" not in saved.__dict__
    assert "evidence" not in saved.__dict__ and "identifiers" not in saved.__dict__
    # a page drawing shops beyond the index (as a verdict could) reads the tables
    drawn = set(shops["shop_id"][shops["role"] == "drawn"])
    outside = next(s for s in saved.dataset.shops["shop_id"] if s not in drawn)
    assert gl.open_state(state).page_rows({outside}, set()).keys() == saved.page_rows(
        {outside}, set()).keys()
    inside = sorted(drawn)[:3]
    fresh = gl.open_state(state)
    got = fresh.page_rows(set(inside), set())
    fresh.__dict__["resolution"] = fresh.resolution  # read whole: the tables answer
    for name, frame in fresh.page_rows(set(inside), set()).items():
        pd.testing.assert_frame_equal(got[name].reset_index(drop=True),
                                      frame.reset_index(drop=True), check_dtype=False)
    # the spot checks kept: budgets up to SPOTCHECK_KEPT read, larger ones ranked again
    spot = {b: render(api.spotcheck_report(gl.open_state(state), b), "json") for b in (3, 600)}
    assert (folder / SPOTCHECKS).exists() and 600 > SPOTCHECK_KEPT
    for path in [*index.values(), folder / SPOTCHECKS]:
        path.unlink()
    assert render(api.signups_report(gl.open_state(state), "3650d"), "html") == want
    assert {b: render(api.spotcheck_report(gl.open_state(state), b), "json")
            for b in spot} == spot
    write_page_index(gl.open_state(state), State.open(state).tables)
    assert all(path.exists() for path in index.values())
    assert render(api.signups_report(gl.open_state(state), "3650d"), "html") == want


# --- a run saved before states kept the whole analysis ------------------------------------

def test_older_run_is_refused_clearly_then_migrated_by_analyse(copied, analysis):
    data, state = copied
    shutil.rmtree(State.open(state).tables / FOLDER)  # as a run saved by an older graphlink
    with pytest.raises(StateError, match="saved before states kept the whole analysis"):
        gl.open_state(state)
    result = run("clusters", data, "--state", state, "--require-fresh", ok=False)
    assert result.exit_code == 1 and "saved before states kept" in result.stderr
    result = run("clusters", data, "--state", state, "--format", "json")  # analysed again
    assert "saved before states kept" in result.stderr
    assert json.loads(result.stdout)["shops"] == analysis.clusters().to_dict("records")
    # the old run still answers sign-ups from its incremental tables
    old = api.signups_with_state(data, state, SINCE)
    assert old.payload == {**api.signups_report(analysis, SINCE).payload, "dataset": str(data)}
    run("analyse", data, "--state", state)
    runs = [r["run"] for r in State.open(state).manifest["runs"]]
    assert runs == ["R0001", "R0002"]
    assert len(State.open(state).changes("R0001"))  # the history stays
    assert gl.open_state(state).origin["run"] == "R0002"


def test_damaged_saved_analysis_is_an_error_naming_the_file(copied):
    data, state = copied
    for name in ("pairs", "linked.pairs"):  # the whole table and its linked index
        (State.open(state).tables / FOLDER / f"{name}.parquet").write_bytes(b"not parquet")
    (State.open(state).tables / FOLDER / "page.spotchecks.json").unlink()  # ranked again
    analysis = gl.open_state(state)  # parts are read when first used
    assert len(analysis.clusters()) == len(analysis.dataset.shops)
    with pytest.raises(GraphlinkError, match="pairs.parquet: cannot read"):
        assert analysis.resolution is None  # never reached: reading it fails
    result = run("report", "spotcheck", data, "--state", state, ok=False)
    assert result.exit_code == 1 and "pairs.parquet: cannot read" in result.stderr
    # the spot checks kept in the page index: a damaged file is named too
    from graphlink.state.saved import SPOTCHECKS

    (State.open(state).tables / FOLDER / SPOTCHECKS).write_bytes(b"not json")
    result = run("report", "spotcheck", data, "--state", state, ok=False)
    assert result.exit_code == 1 and f"{SPOTCHECKS}: cannot read" in result.stderr


# --- pseudonymised ----------------------------------------------------------------------

def test_pseudonymised_state_and_case_file_hold_no_clear_value(world, tmp_path, monkeypatch):
    import pyarrow.parquet as pq
    from test_pii import KEY, _clear_values, _leaks

    from graphlink.linkage.pseudonymise import KEY_VARIABLE

    monkeypatch.setenv(KEY_VARIABLE, KEY)
    state = tmp_path / "state"
    run("analyse", world, "--state", state, "--pseudonymise")
    values = _clear_values(world)
    saved = "\n".join(pq.read_table(p).to_pandas().to_csv()
                      for p in sorted((State.open(state).tables / FOLDER).glob("*.parquet")))
    assert not _leaks(saved, values)
    hidden = gl.analyse(world, pseudonymise=KEY)
    shop = next(r["shop_id"] for r in hidden.signup_records("3650d") if r["flag"] == "high")
    result = run("explain", world, shop, "--state", state, "--pseudonymise", "--require-fresh",
                 "--format", "json")
    assert "read from state" in result.stderr and not _leaks(result.stdout, values)
    assert json.loads(result.stdout)["banned_ties"]
    # without the option the state is not fresh for the request: refused, not mixed
    result = run("explain", world, shop, "--state", state, "--require-fresh", ok=False)
    assert result.exit_code == 1 and "other options" in result.stderr


# --- the saved frames ---------------------------------------------------------------------

@pytest.fixture
def leads_found(monkeypatch) -> list[int]:
    """Counts the factory-lead searches (the real search runs)."""
    calls: list[int] = []
    real = analysis_module.factory_leads

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis_module, "factory_leads", counted)
    return calls


def test_a_first_run_finds_the_factory_leads_once(world, tmp_path, leads_found):
    analysis, _ = api.analyse_into_state(world, tmp_path / "state")
    assert leads_found == [1]
    saved = gl.open_state(tmp_path / "state").factories()
    assert len(saved)  # the world has leads, so the check below can fail
    analysis.__dict__.pop("factory_leads")  # found again, with the saved operator ids
    pd.testing.assert_frame_equal(saved, analysis.factories().reset_index(drop=True))
    assert leads_found == [1, 1]


def test_a_run_that_renames_operators_finds_the_leads_with_the_new_ids(world, tmp_path,
                                                                       leads_found,
                                                                       monkeypatch):
    real = runs.stabilise
    monkeypatch.setattr(runs, "stabilise", lambda current, before: real(current, before)
                        .assign(operator_id=lambda f: "OLD-" + f["operator_id"]))
    api.analyse_into_state(world, tmp_path / "state")
    assert leads_found == [1, 1]
    saved = gl.open_state(tmp_path / "state").factories()
    assert len(saved) and all(op.startswith("OLD-") for ops in saved["operator_ids"]
                              for op in ops)


def test_factory_leads_and_context_survive_the_state(tmp_path):
    """Leads and crowded places (nested lists and dicts) read back as the same frames and
    the same JSON (a warehouse context is rare in small generated worlds: built here)."""
    from test_factories import FACTORY, _leads

    from graphlink.reports.report import Report
    from graphlink.state.saved import _read, _write

    where = "温州市瓯海区车站大道328号顺丰云仓2号库"
    rows = [(f"H{k:02d}", f"OPH{k}", where, 27.95, 120.67, 0.0, k, None) for k in range(40)]
    rows += [(f"C{k}", f"OPC{k}", where, 27.95, 120.67, 1.0, k, None) for k in range(4)]
    found = _leads(FACTORY + rows)
    assert len(found.leads) and len(found.context)
    for name, frame in (("leads", found.leads), ("context", found.context)):
        _write(frame, tmp_path / f"{name}.parquet")
        back = _read(tmp_path / f"{name}.parquet", StateError)
        pd.testing.assert_frame_equal(back, frame.reset_index(drop=True), obj=name)
        as_json = [render(Report("x", {"schema": "x/1", "rows": f.to_dict("records")}, []),
                          "json") for f in (frame, back)]
        assert as_json[0] == as_json[1]


def test_report_all_refuses_an_unwritable_output_dir_before_any_work(small_dataset, tmp_path,
                                                                     monkeypatch):
    import loaders

    def refuse(*args, **kwargs):
        raise AssertionError("analysed before checking --output-dir")

    monkeypatch.setattr(loaders, "load", refuse)
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("x", encoding="utf-8")
    result = run("report", "all", small_dataset, "--since", "7d", "--output-dir",
                 a_file / "reports", ok=False, env={"GRAPHLINK_STATE": ""})
    assert result.exit_code == 1 and result.stderr.startswith("error: cannot write")
