"""The `graphlink` command line: thin click commands over the library.

Each command reads its options, calls one library function and renders the
result with the shared output options. Errors a user can fix are printed as
``error: ...`` lines (file, line and column for bad input) with exit code 1;
usage mistakes exit with 2 (click's convention); a state folder another run
is writing, with 75 (:data:`graphlink.state.lock.EXIT_BUSY`); SIGTERM, SIGINT
(Ctrl-C) and SIGHUP stop the command promptly with one line on standard error
and status 128 + the signal (143, 130, 129). Output paths (``--output``,
``--out``, ``--state``) are checked before any work (:mod:`graphlink.reports.outputs`).

This module imports only click and the light helpers at the top: the analysis
is imported inside the commands, so ``graphlink --version`` and every
``--help`` answer at once.
"""

from __future__ import annotations

import contextlib
import functools
import json
import signal
import sys
import tempfile
from pathlib import Path

import click

from graphlink import __version__
from graphlink.core.errors import GraphlinkError, Stopped
from graphlink.core.period import PERIOD_HELP, parse_since
from graphlink.reports.outputs import check_output_file, check_output_folder
from graphlink.reports.report import FORMATS, safe_terminal, write

__all__ = ["main", "cli"]


def dataset_options(command):
    """The options every dataset-reading command shares."""
    decorators = [
        click.argument("dataset", type=click.Path(exists=True, path_type=Path)),
        click.option("--encoding", help="Text encoding of CSV/JSON-lines files (default: detect "
                     "UTF-8 or GB18030)."),
        click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="TOML file mapping an export's file and column names to ours."),
        click.option("--lenient", is_flag=True, help="Skip bad rows (counted in the summary) "
                     "instead of failing."),
        click.option("--adapter", help="Force a loader adapter (standard, jsonl)."),
        click.option("--pseudonymise", is_flag=True, help="Replace phones, emails, ID numbers "
                     "and payment endpoints by keyed hashes (masked in evidence) in every output; "
                     "the key comes from the environment variable GRAPHLINK_PSEUDONYM_KEY."),
        click.option("--quiet", "-q", is_flag=True, help="No progress display (it is shown on "
                     "standard error when that is a terminal)."),
        *engine_options(),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def engine_options() -> list:
    """``--engine embedded|spark``, ``--spark-master``, ``--spark-conf key=value``."""
    return [
        click.option("--engine", type=click.Choice(["embedded", "spark"]), default="embedded",
                     show_default=True, help="Where the analysis runs: in this process "
                     "(embedded) or on Apache Spark (needs pip install 'graphlink[spark]' and "
                     "Java 17; this release loads, validates and normalises on Spark, the "
                     "later stages on the driver)."),
        click.option("--spark-master", metavar="URL", help="With --engine spark: the Spark "
                     "master (default local[2]; e.g. local[8], spark://host:7077, yarn)."),
        click.option("--spark-conf", multiple=True, metavar="KEY=VALUE", help="With --engine "
                     "spark: a Spark setting (repeatable), e.g. spark.sql.shuffle.partitions=64 "
                     "or spark.checkpoint.dir=/shared/ckpt."),
    ]


def output_options(command):
    """``--format`` and ``--output``, shared by every report command."""
    command = click.option("--output", "-o", type=click.Path(path_type=Path),
                           help="Write to FILE instead of standard output.")(command)
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                        show_default=True, help="Output format.")(command)


def model_option(command):
    """``--model FILE``: score with a saved match model instead of learning one."""
    return click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        help="Match model file (graphlink model train); default: learned "
                        "from DATASET on the fly.")(command)


def lock_option(command):
    """``--lock-timeout SECONDS``, on every command that may write a state folder."""
    return click.option("--lock-timeout", type=click.FloatRange(min=0), default=0,
                        metavar="SECONDS", envvar="GRAPHLINK_LOCK_TIMEOUT",
                        help="When another run is writing the state folder, wait up to "
                        "SECONDS for it (env GRAPHLINK_LOCK_TIMEOUT; default 0: exit 75 at "
                        "once).")(command)


def state_options(command):
    """``--state DIR`` (env GRAPHLINK_STATE) and ``--require-fresh``, on every command
    that can read the saved analysis instead of analysing DATASET again."""
    command = click.option("--require-fresh", is_flag=True,
                           help="With --state: refuse (exit 1) when the state is not fresh "
                           "for DATASET instead of analysing it again.")(command)
    return click.option("--state", type=click.Path(path_type=Path), envvar="GRAPHLINK_STATE",
                        help="Analysed-state folder (env GRAPHLINK_STATE; `graphlink analyse` "
                        "saves it): read when fresh for DATASET, the same output as a fresh "
                        "analysis; when stale, DATASET is analysed again, not saved."
                        )(command)


def _notice(params: dict):
    """Where a report came from, one line on standard error (none with --quiet)."""
    if params.get("quiet"):
        return None
    return lambda text: click.echo(f"graphlink: {safe_terminal(text)}", err=True)


def _analysis(dataset: Path, kwargs: dict, seed: int = 0):
    """The analysis a report reads: the state's when --state is fresh, else a fresh
    one (:func:`graphlink.api.analysis_for`); pops the state options from ``kwargs``."""
    from graphlink.api import analysis_for

    state, require = kwargs.pop("state", None), kwargs.pop("require_fresh", False)
    if state is None and require:
        raise click.UsageError("--require-fresh needs --state (or GRAPHLINK_STATE)")
    if state is not None and kwargs.get("model") is not None:
        raise click.UsageError("--model and --state: the state keeps its own model")
    if state is not None and seed != 0:
        raise click.UsageError("--seed and --state: the state was analysed with seed 0")
    params = click.get_current_context().params
    return analysis_for(dataset, state, require_fresh=require, notice=_notice(params), seed=seed,
                        **_load_kwargs(kwargs))


def _load_kwargs(kwargs: dict) -> dict:
    """The load options of ``kwargs`` (removed from it), plus the progress display."""
    options = {k: kwargs.pop(k) for k in ("encoding", "mapping", "lenient", "adapter",
                                          "pseudonymise", "model") if k in kwargs}
    engine = {k: kwargs.pop(k, None) for k in ("engine", "spark_master", "spark_conf")}
    if engine["engine"] == "spark" or engine["spark_master"] or engine["spark_conf"]:
        options.update(engine)  # the embedded engine: the options as before issue 16
    return {**options, "progress": _stage_progress(click.get_current_context().params)}


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def _stage_progress(params: dict):
    """A progress callback redrawing one line on standard error: the stage and a bar.

    None (no display) with --quiet or when standard error is not a terminal,
    so logs, pipes and error messages stay clean.
    """
    if params.get("quiet") or not _stderr_is_terminal():
        return None

    def show(stage: str, done: int, total: int) -> None:
        bar = "#" * round(20 * done / max(total, 1))
        text = "" if stage == "done" else f"graphlink [{bar:<20}] {done}/{total} {stage}..."
        click.echo("\r\x1b[K" + text, nl=False, err=True)

    return show


class SinceType(click.ParamType):
    """``--since``: a date (YYYY-MM-DD) or a period (``7d``, ``2w``), kept as text."""

    name = "DATE|PERIOD"

    def convert(self, value, param, ctx):
        try:
            return parse_since(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _check_outputs(kwargs: dict) -> None:
    """Refuse, before any work, output paths that cannot be written (see
    graphlink.reports.outputs)."""
    check_output_file(kwargs.get("output"))
    if kwargs.get("out") is not None:  # demo --out: the dataset and its truth beside it
        check_output_folder(kwargs["out"], "dataset folder")
        check_output_folder(Path(str(kwargs["out"]) + ".truth"), "truth folder")
    check_output_folder(kwargs.get("state"), "state folder")


def _reports_errors(command):
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            _check_outputs(kwargs)
            return command(*args, **kwargs)
        except GraphlinkError as exc:
            for line in str(exc).splitlines():  # messages quote the data: no terminal controls
                click.echo(f"error: {safe_terminal(line)}", err=True)
            sys.exit(getattr(exc, "exit_code", 1))

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="graphlink")
def cli() -> None:
    """Find banned counterfeit vendors coming back under new identities,
    and shop clusters around one factory.

    Every command that reads a dataset takes the dataset folder first
    (see docs/data-layout.md). Run `graphlink demo` for a tour.
    """


@cli.command()
@dataset_options
@output_options
@_reports_errors
def check(dataset: Path, fmt: str, output: Path | None, **kwargs) -> None:
    """Validate DATASET and summarise it: rows, dates, bans, gaps, hubs.

    Exits 1 and lists every problem (file, line, column) when the data
    breaks the contract, unless --lenient.
    """
    from graphlink.api import check as run_check

    write(run_check(dataset, **_load_kwargs(kwargs)), fmt, output)


@cli.command()
@click.option("--out", type=click.Path(path_type=Path),
              help="Folder for the dataset (default: a new temporary folder). Ground truth "
              "goes beside it, in OUT.truth.")
@click.option("--shops", type=click.IntRange(50, 10_000_000), default=3000, show_default=True,
              help="Number of shops in the generated marketplace.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--mix", type=click.Choice(["demo", "standard", "random"]), default="demo",
              show_default=True, help="demo: comebacks of every kind, honest look-alikes and a "
              "new factory dealer in the last 90 days; standard: the reference world of the "
              "benchmarks; random: a harder world drawn from the seed.")
@_reports_errors
def demo(out: Path | None, shops: int, seed: int, mix: str) -> None:
    """Generate a synthetic marketplace (with ground truth) and analyse it.

    Without --out this is the one-command tour: a world in a temporary
    folder, `check` on it, then the new shops of the last 90 days tied to
    banned shops, a factory lead, and the full sign-up report as HTML
    beside the dataset.
    """
    from graphlink.api import analyse, check, signups_report
    from graphlink.synth.generate import generate_world

    target = out or Path(tempfile.mkdtemp(prefix="graphlink-demo-")) / "marketplace"
    summary = generate_world(target, shops=shops, seed=seed,
                             mix=None if mix == "standard" else mix)
    click.echo(f"wrote a marketplace of {shops} shops to {target}")
    click.echo(f"ground truth: {summary.truth}\n")
    if out is not None:
        return
    analysis = analyse(target, progress=_stage_progress({}))
    write(check(analysis.dataset), "table", None)
    report = signups_report(analysis, DEMO_WINDOW)
    html = target.with_name(target.name + ".signups.html")
    write(report, "html", html)
    for line in _demo_tour(analysis, report):
        click.echo(line)
    click.echo(f"\n{_totals(report, html)}")
    shown = safe_terminal(str(target))
    click.echo("\nnext:")
    for command, why in ((f"graphlink report signups {shown} --since {DEMO_WINDOW} --format json",
                          "every sign-up with its evidence"),
                         (f"graphlink report factories {shown}", "shops converging on a factory"),
                         (f"graphlink report spotcheck {shown} --budget 20",
                          "the shops to test-buy next"),
                         (f"graphlink clusters {shown} --format csv -o clusters.csv",
                          "the operator of every shop")):
        click.echo(f"  {command}    # {why}")


DEMO_WINDOW = "90d"  # the demo world's comebacks fall in its last 90 days (DEMO_MIX.recent)


def _demo_tour(analysis, report, high: int = 5, medium: int = 3) -> list[str]:
    """The demo's story: a few high and medium sign-ups with their one-line reason,
    then the strongest factory lead, preferring one with a shop new in the window."""
    from graphlink.reports.report import clip

    width = max(60, min(160, _terminal_width()))
    since = report.payload["since"]
    lines = ["", f"New shops since {since} that look like banned shops come back (shop, flag, "
                 "risk, the banned shop, why):"]
    picked = [s for s in report.payload["signups"] if s["flag"] == "high"][:high] + \
        [s for s in report.payload["signups"] if s["flag"] == "medium"][:medium]
    for s in picked:
        best = s["matches"][0]
        reason = best["evidence"][0]["detail"] if best["evidence"] else "linked"
        line = (f"  {s['shop_id']}  {s['flag']:<6}  {s['risk']:.2f}  banned "
                f"{best['banned_shop_id']}: {reason}")
        lines.append(clip(safe_terminal(line), width).rstrip())
    if not picked:
        lines.append("  (no high or medium flag in this window)")
    lead = _factory_lead(analysis, since)
    if lead:
        lines += ["", clip(safe_terminal(lead), width * 2).rstrip()]
    return lines


def _factory_lead(analysis, since: str) -> str | None:
    """One line on the best factory cluster (one with a shop created since ``since`` first)."""
    import pandas as pd

    factories = analysis.factories()
    if not len(factories):
        return None
    created = analysis.dataset.shops.set_index("shop_id")["created_at"]
    new = [[s for s in shops if created.get(s, pd.NaT) >= pd.Timestamp(since)]
           for shops in factories["shops"]]
    order = sorted(range(len(factories)), key=lambda i: (not new[i], -factories["score"].iat[i]))
    f = factories.iloc[order[0]]
    fresh = f"; new since {since}: {', '.join(new[order[0]])}" if new[order[0]] else ""
    return (f"Factory lead {f['factory_id']} (score {f['score']:.2f}): {len(f['shops'])} shops of "
            f"{f['operators']} operators, {f['banned_shops']} banned, ship from near "
            f"{f['anchor_address']}{fresh}")


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


@cli.command()
@dataset_options
@model_option
@output_options
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of community detection.")
@state_options
@_reports_errors
def clusters(dataset: Path, fmt: str, output: Path | None, seed: int, **kwargs) -> None:
    """Operators and communities: one row per shop of DATASET.

    Shops judged to be run by the same real-world operator share an
    operator_id; community_id names the wider network (e.g. dealer ring).
    """
    from graphlink.api import clusters_report

    write(clusters_report(_analysis(dataset, kwargs, seed), page=fmt == "html"), fmt, output)


@cli.command()
@dataset_options
@model_option
@output_options
@click.option("--state", type=click.Path(path_type=Path), required=True,
              envvar="GRAPHLINK_STATE", help="Analysed-state folder to save the run in (env "
              "GRAPHLINK_STATE).")
@lock_option
@_reports_errors
def analyse(dataset: Path, fmt: str, output: Path | None, state: Path, lock_timeout: float,
            **kwargs) -> None:
    """Analyse DATASET once and save it in the state folder DIR (a new run, unless
    the state is already fresh for DATASET); then every report, `explain` and
    `neo4j push` read it with --state DIR in seconds.

    Operator ids stay stable from run to run and each run's changes are logged
    (`graphlink report changes`). One run writes a state at a time (see
    --lock-timeout).
    """
    from graphlink.api import analyse_report

    write(analyse_report(dataset, state, lock_timeout=lock_timeout, **_load_kwargs(kwargs)), fmt,
          output)


@cli.command()
@dataset_options
@click.argument("shop")
@model_option
@output_options
@state_options
@_reports_errors
def explain(dataset: Path, shop: str, fmt: str, output: Path | None, **kwargs) -> None:
    """The case file of SHOP: its operator, the banned shops it is tied to with
    every piece of evidence and path, and where each came from (source file and
    line), the dataset's fingerprint, the run and the model version."""
    from graphlink.api import explain_report

    write(explain_report(_analysis(dataset, kwargs), shop), fmt, output)


@cli.group()
def report() -> None:
    """Reports analysts run every morning: sign-ups, factories, spot checks."""


@report.command()
@dataset_options
@model_option
@output_options
@click.option("--since", required=True, type=SinceType(),
              help=f"Score shops created on or after this day: {PERIOD_HELP}.")
@click.option("--state", type=click.Path(path_type=Path),
              envvar="GRAPHLINK_STATE", help="Analysed-state folder (env GRAPHLINK_STATE): used "
              "when fresh, new shops of a delta DATASET are scored against it, else DATASET is "
              "analysed and saved there as a new run.")
@click.option("--require-fresh", is_flag=True, help="With --state: refuse (exit 1) when the "
              "state is not fresh for DATASET instead of analysing or scoring it.")
@lock_option
@_reports_errors
def signups(dataset: Path, fmt: str, output: Path | None, since, state: Path | None,
            require_fresh: bool, lock_timeout: float, **kwargs) -> None:
    """Score every shop created since DATE for being a banned operator come back.

    Every new shop appears once, riskiest first, with the banned shops it is
    tied to and the evidence (identifiers, dates, similarity, path).
    """
    from graphlink.api import analyse, signups_report, signups_with_state

    if state is not None:
        if kwargs.pop("model", None) is not None:
            raise click.UsageError("--model and --state: the state keeps its own model")
        result = signups_with_state(dataset, state, since, lock_timeout=lock_timeout,
                                    page=fmt == "html",
                                    require_fresh=require_fresh,
                                    notice=_notice(click.get_current_context().params),
                                    **_load_kwargs(kwargs))
    elif require_fresh:
        raise click.UsageError("--require-fresh needs --state (or GRAPHLINK_STATE)")
    else:
        result = signups_report(analyse(dataset, **_load_kwargs(kwargs)), since,
                                page=fmt == "html")
    write(result, fmt, output)
    if output is not None and str(output) != "-":  # the file holds it all: say what and where
        click.echo(_totals(result, output), err=True)


def _totals(report, path: Path | str) -> str:
    """The sign-up totals by flag (the table's last line) and where the full report is."""
    return f"{report.notes[-1]}; full report: {safe_terminal(str(path))}"


@report.command()
@dataset_options
@output_options
@click.option("--state", type=click.Path(path_type=Path), required=True,
              envvar="GRAPHLINK_STATE", help="Analysed-state folder (env GRAPHLINK_STATE).")
@click.option("--since-run", help="Report every change after this run (e.g. R0003); default: "
              "the changes of the latest run.")
@click.option("--require-fresh", is_flag=True, help="Refuse (exit 1) when the state is not "
              "fresh for DATASET instead of analysing it as a new run.")
@lock_option
@_reports_errors
def changes(dataset: Path, fmt: str, output: Path | None, state: Path, since_run: str | None,
            require_fresh: bool, lock_timeout: float, **kwargs) -> None:
    """What changed since the last run: shops joining operators (of banned
    shops first), merges, splits, moves, new operators, shops gone.

    DATASET is analysed and saved in the state as a new run unless the state
    is already fresh for it; operator ids stay stable from run to run. One
    run writes a state at a time (see --lock-timeout).
    """
    from graphlink.api import changes_with_state

    write(changes_with_state(dataset, state, since_run, lock_timeout=lock_timeout,
                             require_fresh=require_fresh,
                             notice=_notice(click.get_current_context().params),
                             **_load_kwargs(kwargs)), fmt, output)


@report.command()
@dataset_options
@model_option
@output_options
@state_options
@_reports_errors
def factories(dataset: Path, fmt: str, output: Path | None, **kwargs) -> None:
    """Groups of shops of different operators whose dispatch addresses converge
    on one place (a factory or den), scored by bans, disputes and fake test buys."""
    from graphlink.api import factories_report

    write(factories_report(_analysis(dataset, kwargs), page=fmt == "html"), fmt, output)


@report.command()
@dataset_options
@model_option
@output_options
@click.option("--budget", type=click.IntRange(1), default=20, show_default=True,
              help="How many shops to list (test buys you can afford).")
@state_options
@_reports_errors
def spotcheck(dataset: Path, fmt: str, output: Path | None, budget: int, **kwargs) -> None:
    """The active shops to test-buy next, each with its reasons: links to banned
    shops, factory membership, counterfeit disputes, fake verdicts on file."""
    from graphlink.api import spotcheck_report

    write(spotcheck_report(_analysis(dataset, kwargs), budget), fmt, output)


@report.command("all")
@dataset_options
@model_option
@output_options
@click.option("--since", required=True, type=SinceType(),
              help=f"Sign-ups created on or after this day: {PERIOD_HELP}.")
@click.option("--output-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for signups, clusters, factories and spotcheck, each .json and .html.")
@click.option("--budget", type=click.IntRange(1), default=20, show_default=True,
              help="Shops in the spot-check list.")
@state_options
@_reports_errors
def report_all(dataset: Path, fmt: str, output: Path | None, since, output_dir: Path,
               budget: int, **kwargs) -> None:
    """Sign-ups, clusters, factory leads and spot checks from one analysis (the
    state's with --state), each as JSON and HTML in OUTPUT_DIR; lists the files."""
    from graphlink.api import report_all as run_all

    check_output_folder(output_dir, "output folder")
    write(run_all(_analysis(dataset, kwargs), since, output_dir, budget=budget), fmt, output)


@cli.group()
def review() -> None:
    """Analysts' verdicts on matches, kept in the state folder: confirm or dismiss a
    match once; later reports remember it and the match model learns from it."""


def verdict_options(command):
    """SHOP, --match, --state, --by, --note and --lock-timeout of confirm and dismiss."""
    decorators = [
        click.argument("shop"),
        click.option("--match", "banned", required=True, metavar="BANNED_SHOP",
                     help="The banned shop the match is with."),
        click.option("--state", type=click.Path(path_type=Path), required=True,
                     envvar="GRAPHLINK_STATE", help="Analysed-state folder (env "
                     "GRAPHLINK_STATE) keeping the verdicts."),
        click.option("--by", help="Who gives the verdict (default: $USER)."),
        click.option("--note", help="Why, in a few words."),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return lock_option(command)


def _verdict(verdict: str, shop: str, banned: str, state: Path, by, note, lock_timeout,
             fmt: str, output: Path | None) -> None:
    from graphlink.state.review import record, verdict_report

    row = record(state, shop, banned, verdict, by=by, note=note, lock_timeout=lock_timeout)
    write(verdict_report(row, state), fmt, output)


@review.command("confirm")
@verdict_options
@output_options
@_reports_errors
def review_confirm(shop: str, banned: str, state: Path, by, note, lock_timeout: float, fmt: str,
                   output: Path | None) -> None:
    """Confirm that SHOP is the operator of BANNED_SHOP come back: shown as confirmed,
    the operators merged, a label the model learns from."""
    _verdict("confirmed", shop, banned, state, by, note, lock_timeout, fmt, output)


@review.command("dismiss")
@verdict_options
@output_options
@_reports_errors
def review_dismiss(shop: str, banned: str, state: Path, by, note, lock_timeout: float, fmt: str,
                   output: Path | None) -> None:
    """Dismiss the match of SHOP with BANNED_SHOP (a false alarm): no longer flagged
    unless new evidence appears between the two."""
    _verdict("dismissed", shop, banned, state, by, note, lock_timeout, fmt, output)


@review.command("list")
@click.option("--state", type=click.Path(path_type=Path), required=True,
              envvar="GRAPHLINK_STATE", help="Analysed-state folder (env GRAPHLINK_STATE).")
@output_options
@_reports_errors
def review_list(state: Path, fmt: str, output: Path | None) -> None:
    """Every verdict of the state, oldest first (the one in force on each pair marked)."""
    from graphlink.state.review import list_report

    write(list_report(state), fmt, output)


@review.command("queue")
@dataset_options
@output_options
@click.option("--budget", type=click.IntRange(1), default=25, show_default=True,
              help="How many pairs to list (verdicts you can give).")
@state_options
@_reports_errors
def review_queue(dataset: Path, fmt: str, output: Path | None, budget: int, **kwargs) -> None:
    """The BUDGET pairs (a shop and a banned shop) whose verdict would teach the match
    model most, each with its evidence."""
    from graphlink.state.review import queue_report

    if kwargs.get("state") is None:
        raise click.UsageError("review queue needs --state (or GRAPHLINK_STATE)")
    write(queue_report(_analysis(dataset, kwargs), budget), fmt, output)


@cli.group()
def model() -> None:
    """The match model: learn it from a dataset, show its parameters."""


@model.command("train")
@dataset_options
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True,
              help="Model file to write (JSON).")
@_reports_errors
def model_train(dataset: Path, output: Path, **kwargs) -> None:
    """Learn the match model (m, u, priors) from DATASET, without labels.

    The file holds probabilities and counts only, never a value of the data;
    pass it to another analysis with --model FILE.
    """
    from graphlink.api import train_model
    from graphlink.reports.outputs import atomic_file

    trained = train_model(dataset, **_load_kwargs(kwargs))
    with atomic_file(output) as out:  # as MatchModel.save writes it, whole or not at all
        out.write((json.dumps(trained.to_dict(), indent=1) + "\n").encode("utf-8"))
    click.echo(f"model of {trained.shops} shops ({trained.pairs} candidate pairs) -> {output}",
               err=True)


@model.command("show")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@output_options
@_reports_errors
def model_show(file: Path, fmt: str, output: Path | None) -> None:
    """m, u and Bayes factor of every comparison level of a model FILE."""
    from graphlink.api import model_report

    write(model_report(file), fmt, output)


# --- Neo4j: push the analysed graph, run the named queries (docs/neo4j.md) ----------


def neo4j_options(command):
    """Connection options; each falls back to its NEO4J_* variable, then the local server."""
    decorators = [
        click.option("--uri", envvar="NEO4J_URI",
                     help="Bolt URI (env NEO4J_URI; default bolt://127.0.0.1:7687)."),
        click.option("--user", envvar="NEO4J_USER", help="User (env NEO4J_USER; default neo4j)."),
        click.option("--password", envvar="NEO4J_PASSWORD", prompt="Neo4j password",
                     prompt_required=False, hide_input=True,
                     help="Password (env NEO4J_PASSWORD). Give --password without a value to "
                     "be asked for it; it is never echoed or printed."),
        click.option("--database", envvar="NEO4J_DATABASE",
                     help="Database (env NEO4J_DATABASE; default: the server's default)."),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


@contextlib.contextmanager
def _push_progress(quiet: bool):
    """A click progress bar on stderr; None with --quiet or when stderr is not a terminal."""
    bars = []

    def show(stage: str, done: int, total: int) -> None:
        if not bars:
            bars.append(click.progressbar(length=max(total, 1), label="pushing", file=sys.stderr))
        bars[0].label = f"{stage:<30.30}"
        bars[0].update(done - bars[0].pos)

    try:
        yield None if quiet or not _stderr_is_terminal() else show
    finally:
        if bars:
            bars[0].render_finish()


def _params(ctx, param, values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", ctx, param)
        out[key.strip()] = value
    return out


@cli.group("neo4j")
def neo4j_group() -> None:
    """Load the analysed graph into Neo4j and run the named Cypher queries.

    The connection comes from --uri/--user/--password or NEO4J_URI,
    NEO4J_USER, NEO4J_PASSWORD; `scripts/neo4j-local start` runs a local
    server (docs/neo4j.md).
    """


@neo4j_group.command("push")
@dataset_options
@neo4j_options
@output_options
@click.option("--batch-size", type=click.IntRange(1), default=5000, show_default=True,
              help="Rows per transaction.")
@state_options
@_reports_errors
def neo4j_push(dataset: Path, uri, user, password, database, fmt: str, output: Path | None,
               batch_size: int, quiet: bool, **kwargs) -> None:
    """Analyse DATASET (or read its analysis from --state) and load its graph into
    Neo4j; pushing again is safe.

    Nodes and relationships are merged on their keys; what an earlier push
    left and this one does not have is removed, so the graph always equals
    the latest analysis (an interrupted push is repaired by the next one).
    """
    from graphlink.neo4j import push

    analysis = _analysis(dataset, kwargs)
    with _push_progress(quiet) as progress:
        summary = push(analysis, uri, user, password, batch_size, progress, database=database)
    write(summary.report(), fmt, output)


@neo4j_group.command("query")
@click.argument("name")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", callback=_params,
              help="A query parameter (repeatable); unset ones take the query's example value.")
@neo4j_options
@output_options
@_reports_errors
def neo4j_query(name: str, params: dict, uri, user, password, database, fmt: str,
                output: Path | None) -> None:
    """Run the named query NAME (see `graphlink neo4j queries`) and print its rows."""
    from graphlink.neo4j import query_report

    write(query_report(name, params, uri=uri, user=user, password=password, database=database),
          fmt, output)


@neo4j_group.command("queries")
@output_options
@_reports_errors
def neo4j_queries(fmt: str, output: Path | None) -> None:
    """List the named queries (the files of queries/), their purpose and parameters."""
    from graphlink.neo4j import queries_report

    write(queries_report(), fmt, output)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _stop(signum: int, frame) -> None:
    raise Stopped(signum)


def stop_on_signals() -> None:
    """Make SIGTERM, SIGINT and SIGHUP raise :class:`graphlink.core.errors.Stopped`."""
    import pyarrow

    # pyarrow swaps in its own SIGINT/SIGTERM handler while it reads a CSV file and
    # can lose a signal that arrives as it swaps back (a SIGTERM then ran the whole
    # job to exit 0); Python's handler alone runs as soon as the read returns.
    pyarrow.enable_signal_handlers(False)
    for signum in STOP_SIGNALS:
        signal.signal(signum, _stop)


def main() -> None:
    """Entry point of the `graphlink` console script.

    SIGTERM, SIGINT and SIGHUP raise :class:`graphlink.core.errors.Stopped` wherever
    the command is: worker processes are killed on the way out
    (:mod:`graphlink.core.workers`), a state folder keeps its previous run whole
    (:mod:`graphlink.state.store`), ``--output`` files are written whole or not at all,
    and the process exits with 128 + the signal after one line on standard error.
    """
    stop_on_signals()
    try:
        cli(prog_name="graphlink")
    except Stopped as stop:
        for signum in STOP_SIGNALS:  # a second signal now would only garble the line
            signal.signal(signum, signal.SIG_IGN)
        click.echo(f"graphlink: {stop}", err=True)
        sys.exit(stop.exit_status)


if __name__ == "__main__":
    main()
