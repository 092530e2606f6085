"""Every shipped JSON Schema is a valid schema, and offline outputs validate against theirs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from graphlink.cli import cli
from graphlink.report import load_schema, schema_path

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
