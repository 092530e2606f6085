"""Packaging beyond setup.cfg (which holds the metadata and everything else).

The named Cypher queries, the Browser style and the guide have one source, the
top-level ``queries/`` folder the project's layout asks for; they ship inside
the package as ``graphlink/queries`` (where :func:`graphlink.neo4j.queries_dir`
finds them in an installed copy) by mapping that folder in as a data-only
package, not by a copy kept by hand. setup.cfg cannot add a mapped package to
``find:``, hence this file.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["graphlink", "graphlink.*", "loaders", "loaders.*"]),
              "graphlink.queries"],
    package_dir={"graphlink.queries": "queries"},
)
