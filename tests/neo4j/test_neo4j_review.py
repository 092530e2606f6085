"""Analyst verdicts in Neo4j (issue 20): MATCHES and LINKED carry the verdict in force,
and the named query review_queue lists unjudged pairs, most instructive first.

Needs the server (tests/neo4j_fixtures.py): skipped on a developer machine
without one, failed under CI=true.
"""

from __future__ import annotations

import pytest
from neo4j_fixtures import (  # noqa: F401 (fixtures; the lock is autouse)
    neo4j_driver,
    neo4j_settings,
    one_neo4j_test_run_at_a_time,
)

import graphlink as gl
import graphlink.neo4j as gn
from graphlink import api

SINCE = "2024-01-01"


@pytest.fixture(scope="module")
def judged(neo4j_driver, neo4j_settings, tmp_path_factory):  # noqa: F811
    """A state with one dismissed and one confirmed match, pushed from the state."""
    root = tmp_path_factory.mktemp("neo4j-review")
    gl.generate_world(root / "world", shops=300, seed=5)
    api.analyse_report(root / "world", root / "state")
    signups = api.signups_report(gl.open_state(root / "state"), SINCE).payload["signups"]
    tied = [s for s in signups if s["matches"] and s["matches"][0]["hops"] == 1]
    dismissed = (tied[0]["shop_id"], tied[0]["matches"][0]["banned_shop_id"])
    confirmed = (tied[1]["shop_id"], tied[1]["matches"][0]["banned_shop_id"])
    gl.dismiss(root / "state", dismissed[0], match=dismissed[1], by="ana")
    gl.confirm(root / "state", confirmed[0], match=confirmed[1], by="bo")
    settings = {"uri": neo4j_settings.uri, "user": neo4j_settings.user,
                "password": neo4j_settings.password}
    analysis = gl.open_state(root / "state", root / "world")
    gn.push(analysis, **settings)
    return settings, dismissed, confirmed, analysis


def _rel(driver, rel: str, a: str, b: str) -> list[dict]:
    with driver.session() as session:
        return [dict(r["r"]) for r in session.run(
            f"MATCH (:Shop {{shop_id: $a}})-[r:{rel}]-(:Shop {{shop_id: $b}}) RETURN r",
            a=a, b=b)]


def test_verdicts_are_properties_of_matches_and_linked(judged, neo4j_driver):  # noqa: F811
    _, dismissed, confirmed, _ = judged
    (match,) = _rel(neo4j_driver, "MATCHES", *confirmed)
    assert (match["verdict"], match["verdict_by"], match["score"]) == ("confirmed", "bo", 1.0)
    (linked,) = _rel(neo4j_driver, "LINKED", *confirmed)
    assert linked["verdict"] == "confirmed"
    assert _rel(neo4j_driver, "MATCHES", *dismissed) == []  # no longer counts
    (linked,) = _rel(neo4j_driver, "LINKED", *dismissed)
    assert (linked["verdict"], linked["verdict_by"]) == ("dismissed", "ana")
    assert str(linked["verdict_at"].year) >= "2026"


def test_review_queue_query_lists_unjudged_pairs(judged):
    settings, dismissed, confirmed, analysis = judged
    frame = gn.run_query("review_queue", {"limit": 10}, **settings)
    assert 0 < len(frame) <= 10
    pairs = set(zip(frame["shop_id"], frame["banned_shop_id"], strict=True))
    assert dismissed not in pairs and confirmed not in pairs
    assert frame["teach"].tolist() == sorted(frame["teach"], reverse=True)
    banned = set(analysis.dataset.banned_shop_ids())
    assert set(frame["banned_shop_id"]) <= banned and not set(frame["shop_id"]) & banned
    assert ((frame["p"] > 0) & (frame["p"] < 1)).all()
