"""Synthetic marketplaces with known answers.

:func:`generate_world` writes a dataset in the standard layout (CONTRACT.md
section 1) and, beside it (never inside it), the ground truth: which shops one
real-world operator runs, which new shops are banned counterfeiters coming
back under a new identity (and how hard each is to catch), which shops deal
for one counterfeiting factory, and which honest shops sit in the benign traps
that fool naive linkage (e-commerce parks, fulfilment warehouses, carrier NAT
IPs, very common names, families).

Everything random is drawn from ``random.Random(seed)`` and
``numpy.random.default_rng(seed)``: one seed gives byte-identical files. Rows
are streamed to disk shop by shop, so memory grows only with the special
(non-singleton) shops and the registry of used identifiers.

``mix`` makes a world harder and different from the default one: a
:class:`WorldMix` (or ``"random"`` for ``WorldMix.draw(seed)``) sets the share
of each re-registration tier (adding ``single``, one weak signal, and
``none``, a fresh identity), which weak signals link a comeback to its banned
parent (recorded per shop in the truth column ``signals``), and the size of
every honest trap, including two more: ``room_turnover`` and
``card_collision``. Without ``mix`` the files are exactly those of earlier
versions.

The generator's parts, one responsibility each: :mod:`~graphlink.synth.world`
(the vocabulary: roles, tiers, signals, time, random draws, the entities),
:mod:`~graphlink.synth.people` (names and identifiers),
:mod:`~graphlink.synth.places` (addresses and sites), :mod:`~graphlink.synth.plan`
(the mix and the plan of the special shops), :mod:`~graphlink.synth.mixed` (what
a mixed world adds to the plan) and :mod:`~graphlink.synth.writer`
(the tables, the truth and the summary). This module joins them and re-exports
their public names.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     summary = generate_world(Path(tmp) / "world", shops=200, seed=1)
...     summary.rows["shops"], summary.truth.name
(200, 'world.truth')
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from graphlink.synth.mixed import _MixedPlanner
from graphlink.synth.people import _People
from graphlink.synth.places import _Places
from graphlink.synth.plan import DEMO_MIX, WorldMix, _Planner
from graphlink.synth.world import (
    MIN_SHOPS,
    MIX_ROLES,
    MIX_TIERS,
    ROLES,
    SIGNALS,
    TIERS,
    _Factory,
    _Shop,
)
from graphlink.synth.writer import TABLES, WorldSummary, _Writer

__all__ = ["WorldMix", "WorldSummary", "generate_world", "MIN_SHOPS", "ROLES", "TIERS",
           "MIX_ROLES", "MIX_TIERS", "SIGNALS", "DEMO_MIX", "TABLES"]


class _World(_People, _Places, _Planner, _MixedPlanner, _Writer):
    """Plans the special shops, then streams every shop's rows to disk.

    Its methods live by responsibility in the mixins :class:`_People`,
    :class:`_Places`, :class:`_Planner`, :class:`_MixedPlanner` and
    :class:`_Writer` (one module each);
    the state they share is made here.
    """

    def __init__(self, shops: int, seed: int, mix: WorldMix | None = None) -> None:
        self.n = shops
        self.mix = mix
        self.r = random.Random(seed)
        self.nrng = np.random.default_rng(seed)
        self.taken: set[str] = set()
        self.shops: list[_Shop] = []
        self.factories: list[_Factory] = []
        self.op_factory: dict[int, int] = {}
        self.zones: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
        self.ops = 0


def generate_world(out: str | Path, shops: int = 3000, seed: int = 0,
                   truth: str | Path | None = None,
                   mix: WorldMix | str | None = None) -> WorldSummary:
    """Write a synthetic marketplace with known answers.

    Parameters
    ----------
    out : str or Path
        Dataset folder (created; its seven CSV tables are overwritten).
    shops : int
        Number of shops, at least ``MIN_SHOPS``; every phenomenon is present
        from 200 shops on.
    seed : int
        Random seed (non-negative); one seed gives byte-identical files.
    truth : str or Path, optional
        Ground-truth folder; default ``<out>.truth`` beside the dataset. It may
        not lie inside ``out``.
    mix : WorldMix, "random" or "demo", optional
        A harder, varied world: tier shares (with ``single`` and ``none``), weak
        signals and trap sizes of the mix, ``"random"`` for
        ``WorldMix.draw(seed)``, ``"demo"`` for :data:`DEMO_MIX` (comebacks of
        every kind in the last 90 days). The truth then gains a ``signals`` column, the
        roles ``room_turnover`` and ``card_collision``, and ``mix.json``.
        ``None`` (default) writes exactly the files of earlier versions.

    Returns
    -------
    WorldSummary
        Paths, rows per table, shops per role and tier.
    """
    if isinstance(shops, bool) or not isinstance(shops, int | np.integer) or shops < MIN_SHOPS:
        raise ValueError(f"shops must be an integer >= {MIN_SHOPS}, got {shops!r}")
    out = Path(out)
    truth = Path(str(out) + ".truth") if truth is None else Path(truth)
    inside = out.resolve() == truth.resolve() or out.resolve() in truth.resolve().parents
    if inside:
        raise ValueError(f"the ground truth {truth} must not lie inside the dataset {out}")
    world = _World(int(shops), int(seed), _resolve_mix(mix, int(seed)))
    world.plan()
    return world.write(out, truth)


def _resolve_mix(mix: WorldMix | str | None, seed: int) -> WorldMix | None:
    """``None``, a :class:`WorldMix`, ``"random"`` -> ``WorldMix.draw(seed)``, or
    ``"demo"`` -> :data:`DEMO_MIX`."""
    if mix is None or isinstance(mix, WorldMix):
        return mix
    if mix == "random":
        return WorldMix.draw(seed)
    if mix == "demo":
        return DEMO_MIX
    raise ValueError(f"mix must be a WorldMix, 'random', 'demo' or None, got {mix!r}")


def _main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a synthetic marketplace with truth.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--shops", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mix", choices=["random", "demo"], default=None,
                        help="random: a harder world drawn from the seed; demo: the world of "
                        "`graphlink demo` (default: the standard world)")
    args = parser.parse_args(argv)
    summary = generate_world(args.out, shops=args.shops, seed=args.seed, mix=args.mix)
    print(f"{summary.out}: {summary.rows}")
    print(f"{summary.truth}: roles {summary.roles}, tiers {summary.tiers}")


if __name__ == "__main__":
    _main()
