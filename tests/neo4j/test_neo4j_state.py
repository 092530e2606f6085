"""`graphlink neo4j push DATASET --state DIR` against a real Neo4j: the graph pushed
from the saved analysis is the graph a fresh analysis pushes, and nothing is analysed.

Needs the server (tests/neo4j_fixtures.py): skipped on a developer machine
without one, failed under CI=true.
"""

from __future__ import annotations

from click.testing import CliRunner
from neo4j_fixtures import one_neo4j_test_run_at_a_time  # noqa: F401 (autouse)

import graphlink as gl
from graphlink import api
from graphlink import neo4j as gn
from graphlink.cli import cli
from graphlink.workflow import with_state


def test_push_from_state_equals_push_of_a_fresh_analysis(neo4j_driver, neo4j_settings,  # noqa: F811
                                                         world, tmp_path, monkeypatch):
    conn = {"uri": neo4j_settings.uri, "user": neo4j_settings.user,
            "password": neo4j_settings.password}
    gn.clear(**conn)
    gn.push(gl.analyse(world), **conn)
    fresh = gn.fingerprint(**conn)
    state = tmp_path / "state"
    api.analyse_report(world, state)
    gn.clear(**conn)

    def no_analysis(*args, **kwargs):
        raise AssertionError("analysed again although the state is fresh")

    monkeypatch.setattr(with_state, "analyse", no_analysis)
    env = {"NEO4J_URI": neo4j_settings.uri, "NEO4J_USER": neo4j_settings.user,
           "NEO4J_PASSWORD": neo4j_settings.password}
    result = CliRunner().invoke(cli, ["neo4j", "push", str(world), "--state", str(state),
                                      "--require-fresh", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    assert f"read from state {state} run R0001" in result.stderr
    assert gn.fingerprint(**conn) == fresh
