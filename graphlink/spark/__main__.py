"""The ``spark-submit`` entry: the graphlink command line in a Spark application.

    spark-submit --master local[4] "$(python -m graphlink.spark --entry)" \\
        report signups DATASET --since 30d --engine spark

The session spark-submit configures (master, ``--conf``, memory) is the one
the Spark engine uses. ``python -m graphlink.spark --entry`` prints this
file's path; ``python -m graphlink.spark ARGS`` is ``graphlink ARGS``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    if sys.argv[1:] == ["--entry"]:
        print(Path(__file__).resolve())
        return
    if "PYSPARK_GATEWAY_PORT" in os.environ:  # run by spark-submit: start its session
        from pyspark.sql import SparkSession

        SparkSession.builder.appName("graphlink").getOrCreate()
    from graphlink.cli import main as cli

    sys.argv[0] = "graphlink"
    cli()


if __name__ == "__main__":
    main()
