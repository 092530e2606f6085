"""Pytest fixtures for tests that talk to a real Neo4j 5 server.

Import them from ``conftest.py``::

    from neo4j_fixtures import neo4j_driver, neo4j_settings  # noqa: F401

The server is either the local one (``scripts/neo4j-local start``) or the
Docker image (``docker run -p7474:7474 -p7687:7687 -e NEO4J_AUTH=neo4j/graphlink-dev
neo4j:5``); see docs/neo4j.md. Settings come from the environment:

- ``NEO4J_URI``       (default ``bolt://127.0.0.1:7687``)
- ``NEO4J_USER``      (default ``neo4j``)
- ``NEO4J_PASSWORD``  (default ``graphlink-dev``)
- ``NEO4J_HTTP_URL``  (default ``http://127.0.0.1:7474``)

When the server cannot be reached, the tests that use ``neo4j_driver`` are
skipped with a reason that says how to start it, except under CI
(``CI=true``), where they fail: CI must start the server itself. A server
that answers but rejects the credentials is always a failure.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from neo4j import Driver, GraphDatabase
from neo4j.exceptions import AuthError, ServiceUnavailable

DEFAULT_URI = "bolt://127.0.0.1:7687"
DEFAULT_USER = "neo4j"
DEFAULT_PASSWORD = "graphlink-dev"
DEFAULT_HTTP_URL = "http://127.0.0.1:7474"

HOW_TO_START = (
    "start it with `scripts/neo4j-local start` "
    "(or `docker run -p7474:7474 -p7687:7687 -e NEO4J_AUTH=neo4j/graphlink-dev neo4j:5`), "
    "or point NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD at another server"
)


@dataclass(frozen=True)
class Neo4jSettings:
    uri: str
    user: str
    password: str
    http_url: str

    @classmethod
    def from_env(cls) -> Neo4jSettings:
        """Read the settings from the environment.

        >>> s = Neo4jSettings.from_env()
        >>> s.uri.split("://")[0] in {"bolt", "neo4j", "bolt+s", "neo4j+s", "bolt+ssc", "neo4j+ssc"}
        True
        """
        return cls(
            uri=os.environ.get("NEO4J_URI") or DEFAULT_URI,
            user=os.environ.get("NEO4J_USER") or DEFAULT_USER,
            password=os.environ.get("NEO4J_PASSWORD") or DEFAULT_PASSWORD,
            http_url=(os.environ.get("NEO4J_HTTP_URL") or DEFAULT_HTTP_URL).rstrip("/"),
        )


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def server_unavailable(message: str) -> None:
    """Skip the test (developer machine) or fail it (CI=true) with ``message``."""
    if in_ci():
        pytest.fail(f"{message} [CI=true: the Neo4j tests must run, not skip]", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def neo4j_settings() -> Neo4jSettings:
    return Neo4jSettings.from_env()


@pytest.fixture(scope="session")
def neo4j_driver(neo4j_settings: Neo4jSettings) -> Iterator[Driver]:
    """A connected ``neo4j.Driver`` (session-wide), or skip/fail as documented above."""
    s = neo4j_settings
    driver = GraphDatabase.driver(s.uri, auth=(s.user, s.password), connection_timeout=5)
    try:
        driver.verify_connectivity()
    except AuthError as exc:
        driver.close()
        pytest.fail(
            f"Neo4j at {s.uri} rejected user {s.user!r} with the given password ({exc}). "
            "Set NEO4J_PASSWORD to that server's password; for the local server, "
            "`scripts/neo4j-local reset` wipes its data so the next start sets "
            "NEO4J_PASSWORD (default graphlink-dev) afresh.",
            pytrace=False,
        )
    except (ServiceUnavailable, OSError) as exc:
        driver.close()
        server_unavailable(f"Neo4j is not reachable at {s.uri} ({exc}); {HOW_TO_START}")
    try:
        yield driver
    finally:
        driver.close()


@pytest.fixture(scope="module", autouse=True)
def one_neo4j_test_run_at_a_time() -> Iterator[None]:
    """Test modules that write to the shared server take turns (autouse where imported):
    two pytest runs at once would wipe each other's graph."""
    with open(Path(tempfile.gettempdir()) / "graphlink-neo4j-tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
