"""Harder factory worlds: a generated world rewritten the way real exports differ.

    python benchmarks/harden.py WORLD OUT [--seed 0]

The generated marketplace writes each factory's addresses in a few tidy
ways, and its parks and warehouses hold honest tenants only. Real exports
(and the unseen marketplaces graphlink is measured on) differ. This rewrites
a world's ``addresses.csv`` (truth untouched, copied beside the output) so
that

- Chinese addresses are written variously: house numbers as Chinese
  numerals, 栋 as 号楼/幢/座/#, full-width digits, the province or the city
  left out (each rewrite on about half of the rows, independently);
- some factory dealers give their dispatch address only as coordinates
  (``"lat,lon"`` as the text);
- counterfeit sellers rent rooms in the honest parks and warehouses: banned
  counterfeit shops that deal for no factory move their first dispatch
  address into a park or a warehouse (another room), so crowded honest
  places hold several flagged operators, which must stay context, not leads.

Nothing here feeds the analysis; benchmarks/quality.py ``--harden`` runs
every generated world twice, as generated and hardened.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
from pathlib import Path

import pandas as pd

__all__ = ["harden"]

_DIGITS = "零一二三四五六七八九"
_FULL = str.maketrans("0123456789", "０１２３４５６７８９")
COORDS_ONLY = 0.15  # share of factory dealers' located rows given as coordinates only
TENANTS = 6  # counterfeit sellers moved into each crowded place
PLACES = 3  # crowded places that get them


def _numeral(n: int, r: random.Random) -> str:
    """356 -> 三百五十六 or 三五六."""
    if r.random() < 0.5 or n >= 1000:
        return "".join(_DIGITS[int(d)] for d in str(n))
    out, parts = "", [(n // 100, "百"), (n // 10 % 10, "十")]
    for digit, unit in parts:
        if digit:
            out += ("" if unit == "十" and not out and digit == 1 else _DIGITS[digit]) + unit
        elif out and n % 10:
            out += "零" if not out.endswith("零") else ""
    return out + (_DIGITS[n % 10] if n % 10 else "")


def _rewrite(text: str, r: random.Random) -> str:
    """One Chinese address, rewritten in a few of the ways people write them."""
    if r.random() < 0.5:
        text = re.sub(r"(\d+)号(?!楼)", lambda m: _numeral(int(m.group(1)), r) + "号", text,
                      count=1)
    if r.random() < 0.5:
        text = re.sub(r"(\d+)(?:栋|号楼|幢|座)", lambda m: m.group(1) + r.choice(
            ("号楼", "幢", "座", "#", "栋")), text, count=1)
    if r.random() < 0.5:
        text = re.sub(r"^[\u4e00-\u9fff]{2,3}省", "", text)
    if r.random() < 0.3:
        text = re.sub(r"^((?:[\u4e00-\u9fff]{2,3}省)?)[\u4e00-\u9fff]{2,3}市"
                      r"(?=[\u4e00-\u9fff]{1,4}(?:区|县|街道))", r"\1", text)
    if r.random() < 0.3:
        text = text.translate(_FULL)
    return text


def _other_room(text: str, r: random.Random) -> str:
    room = f"{r.randint(1, 12)}{r.randint(1, 30):02d}"
    if re.search(r"\d+室$", text):
        return re.sub(r"\d+室$", room + "室", text)
    return text + f"{r.randint(1, 9)}栋{room}室"


def _crowded_places(addresses: pd.DataFrame, truth: pd.DataFrame) -> list[pd.Series]:
    """One located address row of each of the largest parks and warehouses."""
    groups = truth.loc[truth["trap_group"].str.match(r"^(park|warehouse)-"),
                       ["shop_id", "trap_group"]]
    sizes = groups["trap_group"].value_counts()
    rows = []
    for group in sizes.index[:PLACES]:
        ids = set(groups.loc[groups["trap_group"] == group, "shop_id"])
        located = addresses[addresses["shop_id"].isin(ids) & (addresses["lat"] != "")]
        if len(located):
            rows.append(located.iloc[0])
    return rows


def harden(world: Path, out: Path, seed: int = 0) -> Path:
    """Write the hardened copy of ``world`` (and its truth) to ``out``; returns ``out``."""
    r = random.Random(seed)
    truth_dir = world.with_name(world.name + ".truth")
    shutil.copytree(world, out, dirs_exist_ok=True)
    shutil.copytree(truth_dir, out.with_name(out.name + ".truth"), dirs_exist_ok=True)
    addresses = pd.read_csv(world / "addresses.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(truth_dir / "shops.csv", dtype=str, keep_default_na=False)
    texts = addresses["address"].tolist()
    zh = addresses["address"].str.contains(r"[\u4e00-\u9fff]")
    for i in addresses.index[zh]:
        texts[i] = _rewrite(texts[i], r)
    dealers = set(truth.loc[truth["factory_id"] != "", "shop_id"])
    located = addresses["shop_id"].isin(dealers) & (addresses["lat"] != "")
    for i in addresses.index[located]:
        if r.random() < COORDS_ONLY:
            texts[i] = f"{addresses.at[i, 'lat']},{addresses.at[i, 'lon']}"
    addresses["address"] = texts
    movers = truth.loc[(truth["role"] == "counterfeit_banned") & (truth["factory_id"] == "")
                       & ~truth["community_id"].str.startswith("F"), "shop_id"].tolist()
    r.shuffle(movers)
    for place in _crowded_places(addresses, truth):
        for shop in movers[:TENANTS]:
            i = addresses.index[addresses["shop_id"] == shop][0]
            addresses.loc[i, ["address", "lat", "lon"]] = [
                _other_room(place["address"], r), place["lat"], place["lon"]]
        movers = movers[TENANTS:]
    addresses.to_csv(out / "addresses.csv", index=False)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("world", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(harden(args.world, args.out, args.seed))


if __name__ == "__main__":
    main()
