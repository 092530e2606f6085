"""Connecting to Neo4j: settings (arguments, then ``NEO4J_*`` variables, then the
local server's defaults), the driver with its retries, and driver errors as
:class:`graphlink.core.errors.Neo4jError` without the password.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import neo4j as _neo4j
import neo4j.exceptions as _nx

from graphlink import __version__
from graphlink.core.errors import Neo4jError

DEFAULT_URI = "bolt://127.0.0.1:7687"
DEFAULT_USER = "neo4j"
DEFAULT_PASSWORD = "graphlink-dev"  # the local development server's (scripts/neo4j-local)

HOW_TO_START = (
    "Start the local server with `scripts/neo4j-local start` (docs/neo4j.md), or run "
    "`docker run -p7474:7474 -p7687:7687 -e NEO4J_AUTH=neo4j/graphlink-dev neo4j:5`, "
    "or point --uri / NEO4J_URI at your server."
)



@dataclass(frozen=True)
class _Settings:
    uri: str
    user: str
    password: str = field(repr=False)
    database: str | None = None

    @property
    def where(self) -> str:
        """The URI without any user info, safe to print."""
        return _safe_uri(self.uri)


def _settings(uri, user, password, database) -> _Settings:
    return _Settings(
        uri=uri or os.environ.get("NEO4J_URI") or DEFAULT_URI,
        user=user or os.environ.get("NEO4J_USER") or DEFAULT_USER,
        password=password or os.environ.get("NEO4J_PASSWORD") or DEFAULT_PASSWORD,
        database=database or os.environ.get("NEO4J_DATABASE") or None,
    )


def _safe_uri(uri: str) -> str:
    """``uri`` without user name and password.

    >>> _safe_uri("bolt://neo4j:secret@db.example:7687")
    'bolt://db.example:7687'
    """
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable URI>"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _scrub(text: str, settings: _Settings) -> str:
    """``text`` with the password (and a URI with user info) removed."""
    if len(settings.password) >= 3:
        text = text.replace(settings.password, "***")
    return text.replace(settings.uri, settings.where) if settings.uri else text


def _error(settings: _Settings, exc: Exception, doing: str) -> Neo4jError:
    where = settings.where
    if isinstance(exc, _nx.AuthError):
        message = (f"Neo4j at {where} rejected the user name or password (from --user/--password "
                   "or NEO4J_USER/NEO4J_PASSWORD). For the local server the password is "
                   "NEO4J_PASSWORD at its first start (default graphlink-dev); "
                   "`scripts/neo4j-local reset` starts it afresh.")
    elif isinstance(exc, (_nx.ServiceUnavailable, _nx.SessionExpired, OSError)):
        reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        message = f"cannot reach Neo4j at {where} while {doing} ({reason}). {HOW_TO_START}"
    elif isinstance(exc, _nx.Neo4jError):
        message = f"Neo4j refused {doing}: {exc.code}: {exc.message}"
    elif isinstance(exc, (_nx.ConfigurationError, ValueError)):
        message = f"bad Neo4j connection settings for {where}: {exc}"
    else:
        message = f"Neo4j error while {doing}: {type(exc).__name__}: {exc}"
    return Neo4jError(_scrub(message, settings))


_DRIVER_ERRORS = (_nx.Neo4jError, _nx.DriverError, OSError)


@contextmanager
def _connect(settings: _Settings, max_retry_time: float = 30.0) -> Iterator[_neo4j.Driver]:
    try:
        driver = _neo4j.GraphDatabase.driver(
            settings.uri, auth=(settings.user, settings.password), connection_timeout=10,
            max_transaction_retry_time=max_retry_time, notifications_min_severity="OFF",
            user_agent=f"graphlink/{__version__}")
    except (_nx.ConfigurationError, ValueError) as exc:
        raise _error(settings, exc, "connecting") from None
    try:
        try:
            driver.verify_connectivity()
        except _DRIVER_ERRORS as exc:
            raise _error(settings, exc, "connecting") from None
        yield driver
    finally:
        driver.close()
