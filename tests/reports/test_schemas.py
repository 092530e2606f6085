"""Every shipped JSON Schema is a valid schema, and offline outputs validate against theirs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from graphlink.cli import cli
from graphlink.reports.report import load_schema, schema_path

NAMES = sorted(p.name.removesuffix(".schema.json")
               for p in schema_path("signups").parent.glob("*.schema.json"))


@pytest.mark.parametrize("name", NAMES)
def test_schema_is_valid(name):
    schema = load_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"graphlink.{name}/1"


def test_every_output_has_a_schema():
    assert {"check", "clusters", "signups", "factories", "spotcheck", "neo4j-push",
            "neo4j-query", "neo4j-queries", "changes"} <= set(NAMES)


def test_queries_listing_validates():
    result = CliRunner().invoke(cli, ["neo4j", "queries", "--format", "json"])
    assert result.exit_code == 0, result.output
    jsonschema.validate(json.loads(result.stdout), load_schema("neo4j-queries"))


def test_check_output_validates(small_dataset: Path):
    result = CliRunner().invoke(cli, ["check", str(small_dataset), "--format", "json"])
    assert result.exit_code == 0, result.output
    jsonschema.validate(json.loads(result.stdout), load_schema("check"))


def test_json_layout_is_that_of_json_dumps_indent_2(tmp_path):
    """orjson encodes, long lists batch by batch; the text is json.dumps(indent=2)'s."""
    import datetime

    import numpy as np

    from graphlink.reports.report import Report, render, write

    items = [{"shop": f"S{i}", "name": "店\u2028铺", "score": i / 7,
              "matches": [{"w": [1, 2]}] * (i % 3), "empty": {}} for i in range(2_345)]
    when = [datetime.datetime(2026, 1, 2, 3, 4), datetime.date(2026, 1, 2), np.int64(7)]
    payload = {"schema": "graphlink.demo/1", "signups": items, "few": [np.float64(0.25), None],
               "nan": float("nan"), "none": [], "when": when}
    expected = json.dumps({**payload, "few": [0.25, None], "nan": None}, ensure_ascii=False,
                          indent=2, default=str) + "\n"
    report = Report("demo", payload, [])
    assert render(report, "json") == expected
    write(report, "json", tmp_path / "out.json")
    assert (tmp_path / "out.json").read_text(encoding="utf-8") == expected
    assert render(Report("empty", {}, []), "json") == "{}\n"
