"""The SparkSession the Spark engine runs in.

Master ``local[2]`` by default; ``conf`` (``key=value`` settings, repeatable
on the command line) overrides the defaults below. Spark's UI is off, its
logs quiet (errors only), session times are UTC and a checkpoint folder is
set (a temporary one unless given). One session per process: a running
session (spark-submit's, or the first call's) is used as it is, with only the
settings of ``conf`` a running session can change (``spark.sql.*``).
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from pathlib import Path

from graphlink.core.errors import ConfigError

__all__ = ["DEFAULT_MASTER", "DEFAULTS", "JAVA_OPTIONS", "LARGE_INPUT", "java_options",
           "parse_conf", "spark_session", "require_pyspark"]

DEFAULT_MASTER = "local[2]"
#: settings of every session unless ``conf`` says otherwise
DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.driver.memory": "1g",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # what the driver collects is freed column by column as pandas takes it over (the
    # Arrow copy and the pandas copy of a table are not both whole at once)
    "spark.sql.execution.arrow.pyspark.selfDestruct.enabled": "true",
    "spark.log.level": "ERROR",
    "spark.sql.ansi.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # every charset Java knows (GB18030, GBK, ...) for --encoding, not Spark 4's short list
    "spark.sql.legacy.javaCharsets": "true",
    # a frame's checkpoint files go once nothing holds it, and the JVM collects every 5
    # minutes (not 30) so that the shuffles of frames let go are removed: at 3,000,000
    # shops the shuffle files and checkpoints of a run took over 67 GB of local disk
    "spark.cleaner.referenceTracking.cleanCheckpoints": "true",
    "spark.cleaner.periodicGC.interval": "5min",
}
# errors only on the console, from the JVM's start on
LOG_CONFIG = Path(__file__).with_name("log4j2.properties")
#: the driver JVM's options beside the log settings: the C1 compiler only, and the serial
#: collector. A run is hundreds of short queries, each with its own generated code: C2
#: compiled them with 40 of the JVM's 85 CPU seconds at 3,000 shops and 72 of 231 at
#: 30,000, and G1's concurrent marking took 35 more there; with these the whole run took
#: 20-35% less CPU (benchmarks/spark.py; benchmarks/README.md, "The Spark engine").
#: ``--spark-conf spark.driver.extraJavaOptions=...`` replaces them (and the log settings).
JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
#: ... and for inputs of :data:`LARGE_INPUT` bytes or more (or not on a local disk): C2
#: as well. Its compiling is close to a fixed cost and its code runs the tasks in half
#: the CPU: at 30,000 shops (20 MB) the run took 245 CPU seconds against C1's 263.
LARGE_JAVA_OPTIONS = "-XX:+UseSerialGC"
LARGE_INPUT = 10 * 2**20
INSTALL = "pip install 'graphlink[spark]'"


def require_pyspark() -> None:
    """Fail with the install command when PySpark is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ConfigError(f"--engine spark needs PySpark (and Java 17): {INSTALL}") from None


def parse_conf(settings: dict[str, str] | list[str] | tuple[str, ...] | None) -> dict[str, str]:
    """``key=value`` settings as a dict (a dict is returned as it is).

    >>> parse_conf(["spark.sql.shuffle.partitions=8", "a.b= c=d"])
    {'spark.sql.shuffle.partitions': '8', 'a.b': 'c=d'}
    """
    if isinstance(settings, dict):
        return {str(k): str(v) for k, v in settings.items()}
    found = {}
    for setting in settings or ():
        key, sep, value = str(setting).partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--spark-conf {setting!r}: expected key=value")
        found[key.strip()] = value.strip()
    return found


def java_options(source: str | Path | None = None) -> str:
    """The driver JVM's options for an input at ``source``: :data:`JAVA_OPTIONS` for a
    local input under :data:`LARGE_INPUT` bytes (or none given), else
    :data:`LARGE_JAVA_OPTIONS`.

    >>> java_options(), java_options("hdfs://namenode/exports/2026-12")
    ('-XX:TieredStopAtLevel=1 -XX:+UseSerialGC', '-XX:+UseSerialGC')
    """
    if source is None:
        return JAVA_OPTIONS
    text = str(source)
    if "://" in text and not text.startswith("file://"):
        return LARGE_JAVA_OPTIONS  # not on this disk: a cluster's input
    path = Path(text.removeprefix("file://"))
    files = path.rglob("*") if path.is_dir() else [path]
    size = sum(f.stat().st_size for f in files if f.is_file())
    return LARGE_JAVA_OPTIONS if size >= LARGE_INPUT else JAVA_OPTIONS


def spark_session(master: str | None = None, conf: dict[str, str] | list[str] | None = None,
                  checkpoint: str | None = None, source: str | Path | None = None):
    """The process's SparkSession, started on first use with ``master`` and ``conf``
    (the JVM's options chosen by the size of the input at ``source``:
    :func:`java_options`)."""
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:  # spark-submit's (or an earlier call's): its settings stand
        return _adjusted(active, parse_conf(conf), checkpoint)
    logs = f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}"
    settings = {**DEFAULTS, "spark.pyspark.python": sys.executable,
                "spark.driver.extraJavaOptions": f"{logs} {java_options(source)}",
                "spark.pyspark.driver.python": sys.executable, **parse_conf(conf)}
    builder = SparkSession.builder.master(master or DEFAULT_MASTER).appName("graphlink")
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    folder = checkpoint or settings.get("spark.checkpoint.dir") or scratch_checkpoints()
    spark.sparkContext.setCheckpointDir(str(folder))
    return spark


def scratch_checkpoints() -> str:
    """A temporary checkpoint folder, removed when the process exits (the checkpoints
    only cut lineage within one run; no run reads another's).

    >>> folder = scratch_checkpoints()
    >>> Path(folder).is_dir(), Path(folder).name.startswith("graphlink-spark-checkpoint-")
    (True, True)
    """
    folder = tempfile.mkdtemp(prefix="graphlink-spark-checkpoint-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _adjusted(spark, conf: dict[str, str], checkpoint: str | None):
    """The running session with the settings of ``conf`` a running session can change
    (the SQL ones), and the checkpoint folder when one is given."""
    for key, value in conf.items():
        if spark.conf.isModifiable(key):
            spark.conf.set(key, value)
    folder = checkpoint or conf.get("spark.checkpoint.dir")
    if folder:
        spark.sparkContext.setCheckpointDir(str(folder))
    elif spark.sparkContext.getCheckpointDir() is None:
        spark.sparkContext.setCheckpointDir(scratch_checkpoints())
    return spark
