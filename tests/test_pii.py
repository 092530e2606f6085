"""PII protection: ``--pseudonymise`` keeps phones, emails, ID numbers and payment
endpoints out of every output, links exactly as without it, and pre-hashed data links.

The key comes from GRAPHLINK_PSEUDONYM_KEY only (see graphlink/linkage/pseudonymise.py
and SECURITY.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import BASE, write_dataset

import graphlink as gl
from graphlink.api import (
    check,
    clusters_report,
    factories_report,
    signups_report,
    spotcheck_report,
)
from graphlink.cli import cli
from graphlink.core.errors import ConfigError
from graphlink.core.privacy import KEY_VARIABLE, is_hashed
from graphlink.linkage.identifiers import canonical
from graphlink.linkage.pseudonymise import KINDS, Pseudonymiser
from graphlink.reports.report import render

KEY = "test-key-0123456789-abcdefghij"
SINCE = "2025-06-01"


def _token(value: str) -> str:
    return hmac.new(KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def pseudonymised(world):
    return gl.analyse(world, pseudonymise=KEY)


def _since(analysis) -> str:
    created = analysis.dataset.shops["created_at"]
    return str((created.max() - pd.Timedelta(days=120)).date())


def _reports(analysis) -> dict[str, object]:
    return {"clusters": clusters_report(analysis),
            "signups": signups_report(analysis, _since(analysis)),
            "factories": factories_report(analysis),
            "spotcheck": spotcheck_report(analysis, 30)}


# --- the key ----------------------------------------------------------------------------


def test_a_missing_key_is_a_clear_error(small_dataset, monkeypatch):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    result = CliRunner().invoke(cli, ["clusters", str(small_dataset), "--pseudonymise"])
    assert result.exit_code == 1
    assert KEY_VARIABLE in result.stderr and "Traceback" not in result.output
    with pytest.raises(ConfigError, match=KEY_VARIABLE):
        gl.analyse(small_dataset, pseudonymise=True)


def test_a_short_key_is_refused(small_dataset, monkeypatch):
    monkeypatch.setenv(KEY_VARIABLE, "tiny-k3y")
    result = CliRunner().invoke(cli, ["check", str(small_dataset), "--pseudonymise"])
    assert result.exit_code == 1 and "too short" in result.stderr
    assert "tiny-k3y" not in result.stderr  # the key is not echoed


def test_the_key_cannot_come_from_the_command_line(small_dataset):
    for args in (["--pseudonymise=" + KEY], ["--pseudonymise", KEY], ["--key", KEY]):
        result = CliRunner().invoke(cli, ["clusters", str(small_dataset), *args])
        assert result.exit_code == 2, args


def test_the_key_never_appears_in_any_output(small_dataset, monkeypatch):
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    for args in (["check"], ["report", "signups", "--since", "2025-01-01"]):
        for fmt in ("table", "json", "html"):
            result = CliRunner().invoke(cli, [*args, str(small_dataset), "--pseudonymise",
                                              "--format", fmt])
            assert result.exit_code == 0, result.output
            assert KEY not in result.output and KEY not in result.stderr
    assert KEY not in repr(Pseudonymiser(KEY))


# --- tokens --------------------------------------------------------------------------


def test_tokens_are_keyed_hashes_of_canonical_values(small_dataset):
    ds = gl.load(small_dataset, pseudonymise=KEY)
    accounts = ds.accounts.set_index("account_id")
    # "+86 138-0013-8000" and "+86 13800138000" are one canonical phone: one token
    assert accounts.at["A1", "phone"] == accounts.at["A3", "phone"] == _token("+8613800138000")
    assert accounts.at["A1", "email"] == _token("zw@qq.com")
    assert accounts.at["A3", "email"] == _token("z.w@qq.com")  # plus tag dropped first
    assert accounts.at["A1", "id_number"] == _token("110101199003074514")
    assert ds.payments["endpoint"].tolist() == [_token("6222021234567891234"),
                                                _token("6222*1234")]
    other = gl.load(small_dataset, pseudonymise="another-key-0123456789")
    assert other.accounts.set_index("account_id").at["A1", "phone"] != accounts.at["A1", "phone"]


def test_unusable_values_are_removed_and_counted(tmp_path):
    files = dict(BASE, **{"accounts.csv": BASE["accounts.csv"] + "A4,S2,,,call me,,\n"})
    ds = gl.load(write_dataset(tmp_path / "ds", files), pseudonymise=KEY)
    assert ds.accounts.set_index("account_id").at["A4", "phone"] is None
    assert ds.warnings == ["pseudonymised: 1 accounts.phone value(s) are not a usable phone "
                           "and were removed"]


# --- linkage is identical -----------------------------------------------------------------


def test_linkage_is_identical_with_and_without_pseudonymisation(analysis, pseudonymised):
    pd.testing.assert_frame_equal(analysis.clusters(), pseudonymised.clusters())
    columns = ["shop_a", "shop_b", "kind", "method", "score", "weight"]
    pd.testing.assert_frame_equal(analysis.evidence[columns], pseudonymised.evidence[columns])
    clear, hidden = _reports(analysis), _reports(pseudonymised)
    for name in clear:
        # evidence shows masked values in both, so the reports are the same text
        assert render(clear[name], "json") == render(hidden[name], "json"), name


def test_exact_values_map_one_to_one_onto_tokens(analysis, pseudonymised):
    exact = analysis.evidence[(analysis.evidence["method"] == "exact")
                              & analysis.evidence["kind"].isin(KINDS)]
    hidden = pseudonymised.evidence.loc[exact.index]
    assert len(exact) > 20
    assert [_token(v) if not is_hashed(v) else v for v in exact["value_a"]] == \
        hidden["value_a"].tolist()


def test_masked_display_forms_stay_in_evidence(small_dataset):
    clear = signups_report(gl.analyse(small_dataset), "2025-07-01")
    hidden = signups_report(gl.analyse(small_dataset, pseudonymise=KEY), "2025-07-01")
    assert render(clear, "json") == render(hidden, "json")
    evidence = hidden.payload["signups"][0]["matches"][0]["evidence"]
    phone = next(e for e in evidence if e["kind"] == "phone")
    assert phone["value"] == "+86138****8000" and "+86138****8000" in phone["detail"]


def test_short_values_are_masked_too(tmp_path):
    accounts = BASE["accounts.csv"] + "A4,S2,,,1234567,,\nA5,S3,,,1234567,,\n"
    folder = write_dataset(tmp_path / "ds", dict(BASE, **{"accounts.csv": accounts}))
    analysis = gl.analyse(folder, pseudonymise=KEY)
    values = analysis.identifiers.values.set_index("kind")
    # "+861234567" is short enough for the usual mask to show it whole
    assert "+8******67" in values.loc["phone", "display"].tolist()
    report = render(signups_report(analysis, "2025-01-01"), "json")
    assert "1234567" not in report and "+8******67" in report


# --- pre-hashed data ----------------------------------------------------------------------


@pytest.mark.parametrize("pseudonymise", [None, KEY])
def test_pre_hashed_values_link_to_the_same_hash(tmp_path, pseudonymise):
    digest = hashlib.sha256(b"110101199003074514").hexdigest()
    mail = hashlib.md5(b"someone@example.com").hexdigest()
    accounts = (BASE["accounts.csv"]
                + f"A4,S2,,{digest.upper()},,{mail},2025-02-03\n"
                + f"A5,S3,,{digest},,{mail.upper()},2025-07-01\n")
    folder = write_dataset(tmp_path / "ds", dict(BASE, **{"accounts.csv": accounts}))
    analysis = gl.analyse(folder, pseudonymise=pseudonymise)
    ev = analysis.evidence
    for kind, value in (("id_number", digest), ("email", mail)):
        row = ev[(ev["kind"] == kind) & (ev["value_a"] == value)]
        assert row[["shop_a", "shop_b", "method"]].values.tolist() == [["S2", "S3", "exact"]], kind
    shown = analysis.identifiers.values.set_index(["kind", "value"])["display"]
    assert shown[("id_number", digest)] == digest[:8] + "…"


# --- nothing leaves in clear --------------------------------------------------------------


def _clear_values(folder) -> set[str]:
    """Every phone, email, ID number and full payment endpoint of the dataset, raw and
    canonical, that is not already hashed or masked."""
    ds = gl.load(folder)
    found = set()
    for table, column, kind in (("accounts", "phone", "phone"), ("accounts", "email", "email"),
                                ("accounts", "id_number", "id_number"),
                                ("payments", "endpoint", "payment")):
        for raw in ds.tables[table][column].dropna().unique():
            value = canonical(kind)(raw)
            if value is None or is_hashed(value) or "*" in value:
                continue
            found.update(v for v in (raw, value) if len(v) >= 6)
    return found


_WORD = re.compile(r"[\w.+@\-]+")


def _leaks(text: str, values: set[str]) -> list[str]:
    """Values found in ``text`` as whole words (a digit run inside a 64-digit token is no
    leak); values with other characters (hostile emails) are searched as substrings."""
    words = set(_WORD.findall(text))
    leaks = sorted(v for v in values if v in words)
    for v in values - set(leaks):
        if not _WORD.fullmatch(v) and len(v) >= 8 and v in text:
            leaks.append(v)
    return leaks


def test_no_clear_value_in_any_report(world, pseudonymised):
    values = _clear_values(world)
    assert len(values) > 1000
    texts = {f"{name}.{fmt}": render(report, fmt)
             for name, report in _reports(pseudonymised).items()
             for fmt in ("table", "csv", "json", "html")}
    texts["check.json"] = render(check(world, pseudonymise=KEY), "json")
    texts["check.table"] = render(check(world, pseudonymise=KEY), "table")
    for name, text in texts.items():
        assert not _leaks(text, values), name


def test_no_clear_value_in_the_analysis_a_notebook_sees(world, analysis, pseudonymised):
    values = _clear_values(world)
    found = _leaks(analysis.dataset.accounts.to_csv() + analysis.identifiers.values.to_csv(),
                   values)
    assert len(found) > 0.9 * len(values)  # the detector works: without the option, all leak
    a = pseudonymised
    parts = {
        "dataset": "\n".join(t.to_csv() for t in a.dataset.tables.values()),
        "identifiers": a.identifiers.uses.to_csv() + a.identifiers.values.to_csv(),
        "links": a.links.similar.to_csv() + a.links.hub_blocks.to_csv(),
        "evidence": a.evidence.to_csv(),
        "hubs": a.hubs().to_csv(),
        "graph": repr(list(a.graph.nodes(data=True))) + repr(list(a.graph.edges(data=True))),
    }
    shops = a.signups(_since(a))["shop_id"].head(5).tolist()
    parts["dossiers"] = "\n".join(a.explain(s).text for s in shops)
    for name, text in parts.items():
        assert not _leaks(text, values), name


def test_cli_flag_pseudonymises_every_report(world, monkeypatch):
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    values = _clear_values(world)
    for args in (["clusters"], ["report", "factories"]):
        result = CliRunner().invoke(cli, [*args, str(world), "--pseudonymise", "--format", "csv"])
        assert result.exit_code == 0, result.output
        assert not _leaks(result.output, values)
    result = CliRunner().invoke(cli, ["report", "signups", str(world), "--since", "2026-01-01",
                                      "--pseudonymise", "--format", "json"])
    plain = CliRunner().invoke(cli, ["report", "signups", str(world), "--since", "2026-01-01",
                                     "--format", "json"])
    assert json.loads(result.output) == json.loads(plain.output)


# --- without --pseudonymise: masked displays, never a whole value --------------------------


def _shared_pii_dataset(folder):
    """12 shops whose two accounts share phones, emails and ID numbers (short and usual
    ones) and whose payments share two endpoints, a device and an address: all hubs."""
    shops = ["shop_id,name,created_at,status"]
    accounts = ["account_id,shop_id,holder_name,id_number,phone,email"]
    devices = ["account_id,device_id,ip"]
    addresses = ["shop_id,address"]
    payments = ["shop_id,endpoint"]
    for i in range(1, 13):
        shops.append(f"S{i},Shop {i},2025-01-{i:02d},active")
        accounts.append(f"A{i},S{i},张伟,A1234567,+861234567,z@qq.com")
        accounts.append(f"B{i},S{i},王芳,110101199003074514,138 0013 8000,zhangwei@qq.com")
        devices.append(f"A{i},D-88,10.1.2.3")
        addresses.append(f"S{i},杭州市余杭区文一西路998号")
        payments.append(f"S{i},12345678")
        payments.append(f"S{i},6222021234567891234")
    return write_dataset(folder, {name: "\n".join(lines) + "\n" for name, lines in (
        ("shops.csv", shops), ("accounts.csv", accounts), ("devices.csv", devices),
        ("addresses.csv", addresses), ("payments.csv", payments))})


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "html"])
def test_check_lists_shared_pii_masked_without_pseudonymise(tmp_path, fmt):
    folder = _shared_pii_dataset(tmp_path / "ds")
    result = CliRunner().invoke(cli, ["check", str(folder), "--format", fmt])
    assert result.exit_code == 0, result.output
    values = _clear_values(folder) | {"A1234567", "12345678", "z@qq.com"}
    assert not _leaks(result.output, values)
    if fmt == "csv":
        return  # one row per table: the hubs are in the other formats only
    for shown in ("+8******67", "+86138****8000", "z***@qq.com", "z*******@qq.com",
                  "A1****67", "1101**********4514", "12****78", "6222***********1234"):
        assert shown in result.output, shown
    for context in ("D-88", "10.1.2.3", "张伟"):  # devices, IPs, names: evidence, in clear
        assert context in result.output
    if fmt == "json":
        hubs = {(h["kind"], h["value"]) for h in json.loads(result.output)["hubs"]}
        assert ("phone", "+8******67") in hubs and ("device", "d-88") not in hubs


def test_check_lists_tokens_with_pseudonymise(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    folder = _shared_pii_dataset(tmp_path / "ds")
    result = CliRunner().invoke(cli, ["check", str(folder), "--pseudonymise", "--format", "json"])
    assert result.exit_code == 0, result.output
    hubs = json.loads(result.output)["hubs"]
    tokens = [h["value"] for h in hubs if h["kind"] in ("phone", "email", "id_number", "payment")]
    assert len(tokens) == 8 and all(re.fullmatch(r"[0-9a-f]{64}", t) for t in tokens)


@pytest.mark.parametrize("kind,values", [
    ("phone", ["+861234567", "+12025550123", "13800138000", "8000", "1", "123456789"]),
    ("id_number", ["A1234567", "X1", "12345", "110101199003074514"]),
    ("payment", ["12345678", "1234", "6222021234567891234", "alipay:13800138000"]),
    ("email", ["z@qq.com", "zw@qq.com", "no-at-sign", "a@b"]),
])
def test_mask_never_shows_a_sensitive_value_whole(kind, values):
    from graphlink.core.privacy import mask

    shown = [mask(kind, v) for v in values]
    for value, display in zip(values, shown, strict=True):
        assert value not in display and "*" in display, (value, display)
    if kind == "email":  # the first character and the domain tell emails apart
        assert all(d[0] == v[0] for v, d in zip(values, shown, strict=True) if "@" in v[1:])
    else:  # prefix, suffix and length tell these apart
        assert len(set(shown)) == len(set(values))
