"""Output-identical guard: the same reports, byte for byte, from two revisions.

    python benchmarks/identical.py                      # this checkout against HEAD
    python benchmarks/identical.py --rev main~3         # ... against another revision
    python benchmarks/identical.py --tree /tmp/x --rev 07a9dc7   # another folder as candidate
    python benchmarks/identical.py --worlds demo        # one world only (quicker)

Every restructuring move must leave the outputs alone (issue 15, item 6). This
script builds a few small benchmark worlds, writes every report of each world
with the *candidate* tree (default: the checkout this file is in, uncommitted
edits included) and with the *baseline* revision ``--rev`` (checked out by
``git worktree add --detach`` into a temporary folder, removed afterwards),
and compares the files' sha256 digests: one line per file, ``identical`` or
``different``, and the exit status is 1 when any file differs (2 when a run
failed).

Worlds (generated once with the baseline's ``graphlink.generate_world`` and
cached under ``benchmarks/.worlds/identical/``, so both sides read the same
bytes at the same path):

- ``demo``: the demo world (3,000 shops, seed 0, ``mix="demo"``), ``--since 90d``;
- ``gen3k-s1``, ``gen3k-s2``: generated 3,000-shop worlds with a random mutation
  mix (as benchmarks/quality.py makes them), seeds 1 and 2, ``--since`` the
  median creation date of the world's re-registrations.

Files per world, all through the CLI (the contract, which survives any move of
modules): ``graphlink report all DATASET --since S --output-dir OUT`` (one
analysis: ``signups.json``, ``signups.html``, ``clusters.json``,
``clusters.html``, ``factories.json``, ``factories.html``, ``spotcheck.json``,
``spotcheck.html``) and ``graphlink clusters DATASET --format csv``
(``clusters.csv``). The issue's three (sign-up JSON, clusters CSV, factories
JSON) are marked ``*`` in the listing.

Volatile parts: none known. The HTML pages carry the graphlink version (the
same on both sides unless it was bumped) and the dataset path (the same
cached world); their figures are PNGs from matplotlib's Agg canvas, which
writes no date, then re-encoded by Pillow. Two runs of one tree gave the same
bytes (checked with ``--rev HEAD`` on an unchanged checkout). Both sides run
with ``PYTHONHASHSEED=0`` and without ``GRAPHLINK_STATE``, so only the code
differs.

Digests of a baseline commit are kept under
``benchmarks/.worlds/identical/runs/<commit>-<worlds>/`` and reused (a commit does not
change; ``<worlds>`` is a hash of the worlds' folder, which the reports name: a
worktree that links this cache in names another folder); the candidate tree always
runs. The files themselves stay there too, so a ``different`` line can be followed up
with ``diff``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".worlds" / "identical"
#: the issue's output-identical set (the rest are compared too)
REQUIRED = ("signups.json", "clusters.csv", "factories.json")


@dataclass(frozen=True)
class World:
    """A benchmark world: how it is generated and which ``--since`` its sign-ups use."""

    name: str
    shops: int
    seed: int
    mix: str
    since: str | None  # None: the median creation date of the re-registrations

    @property
    def folder(self) -> Path:
        return CACHE / "worlds" / self.name


WORLDS = {w.name: w for w in (World("demo", 3000, 0, "demo", "90d"),
                              World("gen3k-s1", 3000, 1, "random", None),
                              World("gen3k-s2", 3000, 2, "random", None))}


def _env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GRAPHLINK_STATE"}
    env.update(PYTHONPATH=str(tree), PYTHONHASHSEED="0")
    return env


def _python(tree: Path, args: list[str], log) -> None:
    """Run ``python ARGS`` with ``tree`` first on the path; raise with its output if it fails."""
    done = subprocess.run([sys.executable, *args], cwd=tree, env=_env(tree),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} ... in {tree} failed "
                           f"({done.returncode}):\n{done.stdout[-3000:]}")
    log(f"    ok: {' '.join(args[2:5])}")


def make_world(world: World, tree: Path, log) -> str:
    """Generate ``world`` (once) with ``tree``'s generator; its ``--since``."""
    done = world.folder / ".complete"
    if not done.exists():
        log(f"  generating {world.name} ({world.shops:,} shops, seed {world.seed}) ...")
        shutil.rmtree(world.folder, ignore_errors=True)
        shutil.rmtree(Path(str(world.folder) + ".truth"), ignore_errors=True)
        world.folder.parent.mkdir(parents=True, exist_ok=True)
        _python(tree, ["-c", "import sys, graphlink as gl; gl.generate_world(sys.argv[1], "
                       "shops=int(sys.argv[2]), seed=int(sys.argv[3]), mix=sys.argv[4])",
                       str(world.folder), str(world.shops), str(world.seed), world.mix], log)
        done.write_text("generated\n")
    return world.since or _median_reregistration(world.folder)


def _median_reregistration(folder: Path) -> str:
    """The median creation date of the re-registrations (benchmarks/quality.py's --since)."""
    import pandas as pd

    truth = pd.read_csv(Path(str(folder) + ".truth") / "shops.csv", dtype=str,
                        keep_default_na=False, usecols=["shop_id", "role"])
    shops = pd.read_csv(folder / "shops.csv", dtype=str, usecols=["shop_id", "created_at"])
    rereg = set(truth.loc[truth["role"] == "reregistration", "shop_id"])
    created = pd.to_datetime(shops.loc[shops["shop_id"].isin(rereg), "created_at"],
                             format="ISO8601")
    return str(created.median().date())


def write_outputs(tree: Path, world: World, since: str, out: Path, log) -> dict[str, str]:
    """Every report of ``world`` written by ``tree``'s CLI into ``out``; sha256 per file."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cli = ["-m", "graphlink.cli"]
    _python(tree, [*cli, "report", "all", str(world.folder), "--since", since,
                   "--output-dir", str(out), "--format", "json", "--output", os.devnull], log)
    _python(tree, [*cli, "clusters", str(world.folder), "--format", "csv",
                   "--output", str(out / "clusters.csv")], log)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.iterdir()) if p.is_file()}


def run_tree(tree: Path, label: str, worlds: list[World], sinces: dict[str, str],
             log) -> dict[str, dict[str, str]]:
    """Digests of every world's files written by ``tree`` (kept under runs/``label``)."""
    digests = {}
    for world in worlds:
        start = time.perf_counter()
        log(f"  {label}: {world.name} (--since {sinces[world.name]}) ...")
        digests[world.name] = write_outputs(tree, world, sinces[world.name],
                                            CACHE / "runs" / label / world.name, log)
        log(f"    {time.perf_counter() - start:.0f} s")
    return digests


def _key(commit: str) -> str:
    """The cache folder name of a baseline commit's runs: the commit and a hash of the
    worlds' folder (the reports print their dataset's path)."""
    return f"{commit}-{hashlib.sha256(str(CACHE / 'worlds').encode()).hexdigest()[:8]}"


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def baseline_digests(rev: str, worlds: list[World], sinces: dict[str, str], tree: Path | None,
                     log) -> dict[str, dict[str, str]]:
    """Digests of ``rev`` (read from the cache of its commit, else run in ``tree``)."""
    commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    saved = CACHE / "runs" / _key(commit) / "digests.json"
    known = json.loads(saved.read_text()) if saved.exists() else {}
    missing = [w for w in worlds if w.name not in known]
    if missing:
        if tree is None:
            raise RuntimeError(f"{rev}: no digests saved for {[w.name for w in missing]} "
                               "and no worktree to run it in")
        known.update(run_tree(tree, _key(commit), missing, sinces, log))
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
    else:
        log(f"  {rev} ({commit[:10]}): digests from {saved}")
    return {w.name: known[w.name] for w in worlds}


def compare(base: dict[str, dict[str, str]], cand: dict[str, dict[str, str]]) -> list[tuple]:
    """(world, file, verdict) for every file on either side."""
    rows = []
    for world in base:
        for name in sorted(set(base[world]) | set(cand.get(world, {}))):
            a, b = base[world].get(name), cand.get(world, {}).get(name)
            verdict = ("identical" if a == b else "missing in candidate" if b is None
                       else "missing in baseline" if a is None else "different")
            rows.append((world, name, verdict))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Compare the candidate tree's outputs with ``--rev``'s; 0 identical, 1 different, 2 error."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rev", default="HEAD", help="baseline git revision (default HEAD)")
    parser.add_argument("--tree", type=Path, default=ROOT,
                        help="candidate source tree (default: this checkout)")
    parser.add_argument("--worlds", nargs="+", choices=sorted(WORLDS), default=list(WORLDS))
    parser.add_argument("--keep-worktree", action="store_true",
                        help="leave the baseline's worktree in place")
    args = parser.parse_args(argv)

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    worlds = [WORLDS[n] for n in args.worlds]
    tree = args.tree.resolve()
    commit = _git("rev-parse", "--verify", f"{args.rev}^{{commit}}")
    cached = CACHE / "runs" / _key(commit) / "digests.json"
    need_worktree = not cached.exists() or any(
        w.name not in json.loads(cached.read_text()) for w in worlds) or any(
        not (w.folder / ".complete").exists() for w in worlds)
    worktree = Path(tempfile.mkdtemp(prefix="graphlink-identical-")) / "tree"
    try:
        if need_worktree:
            log(f"baseline {args.rev} ({commit[:10]}): git worktree at {worktree}")
            _git("worktree", "add", "--detach", str(worktree), commit)
        source = worktree if need_worktree else tree
        sinces = {w.name: make_world(w, source, log) for w in worlds}
        base = baseline_digests(args.rev, worlds, sinces, worktree if need_worktree else None,
                                log)
        # one folder per candidate tree: two checks of different trees may run at once
        cand = run_tree(tree, f"candidate-{tree.name}", worlds, sinces, log)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        log(f"error: {exc}")
        return 2
    finally:
        if need_worktree and not args.keep_worktree and worktree.exists():
            _git("worktree", "remove", "--force", str(worktree))
        shutil.rmtree(worktree.parent, ignore_errors=True)
    rows = compare(base, cand)
    print(f"candidate {tree} against {args.rev} ({commit[:10]}); * = the issue's required set")
    for world, name, verdict in rows:
        mark = "*" if name in REQUIRED else " "
        print(f"{mark} {world:<10} {name:<16} {verdict}")
    different = [r for r in rows if r[2] != "identical"]
    print(f"{len(rows) - len(different)} identical, {len(different)} different; files under "
          f"{CACHE / 'runs'}")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
