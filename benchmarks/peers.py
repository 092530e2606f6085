"""Peers graphlink is measured against, on the same dataset folder (standard layout).

- :func:`splink_signups` / :func:`run_splink`: Splink (DuckDB backend) set up as a
  competent user would: one record per shop flattened from the layout, normalised
  identifiers, Splink's library comparisons with term-frequency adjustments,
  u by random sampling, m by expectation maximisation, blocking rules that reach
  comebacks sharing only weak signals. benchmarks/README.md documents every choice.
- :func:`exact_signups` / :func:`exact_operators`: the exact-identifier union-find
  baseline (shops sharing a device, full payment endpoint, phone, email or ID
  number verbatim after normalisation).
- :func:`bcubed_f1`: B-cubed precision, recall and F1 of a clustering.

Nothing here imports graphlink: the peers read the dataset folder themselves, so
they run even while graphlink's own code is being rewritten.

    python benchmarks/peers.py DATASET --since 2025-01-01      # Splink's sign-up report
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import logging
import re
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["splink_signups", "run_splink", "exact_signups", "exact_operators", "exact_pairs",
           "shop_records", "bcubed_f1", "PeerResult", "HIGH", "MEDIUM", "LOW"]

# Splink's match_probability -> flag. 0.9 is the threshold Splink's tutorials use for
# "a match"; 0.5 is even odds (match weight 0); 0.1 keeps the long tail visible.
HIGH, MEDIUM, LOW = 0.9, 0.5, 0.1
M_FLOOR = 1e-3  # smallest m a trained level keeps (see _train)
CLUSTER_THRESHOLD = HIGH  # connected components of pairs at or above this are one operator

TABLES = ("shops", "accounts", "devices", "addresses", "payments")


# --------------------------------------------------------------------------------------
# reading and normalising the standard layout


def read_layout(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The tables a peer needs (CSV or Parquet), every cell a string (missing = NaN)."""
    folder = Path(folder)
    out = {}
    for name in TABLES:
        csv, parquet = folder / f"{name}.csv", folder / f"{name}.parquet"
        if parquet.exists():
            out[name] = pd.read_parquet(parquet).astype("string").astype(object)
        elif csv.exists():
            out[name] = pd.read_csv(csv, dtype=str, keep_default_na=False, na_values=[""])
        else:
            out[name] = pd.DataFrame()
    return out


def _text(value) -> str | None:
    if not isinstance(value, str):
        return None
    value = unicodedata.normalize("NFKC", value).strip().lower()
    return re.sub(r"\s+", " ", value) or None


_CJK = re.compile(r"[\u3400-\u9fff]")


def name_key(value) -> str | None:
    """A person's name as order-free tokens; Chinese names as pinyin surname + given
    name, so 曾涛佳, 曾涛嘉 and "Taojia Zeng" all read "taojia zeng"."""
    text = _text(value)
    if not text:
        return None
    if _CJK.search(text):
        from pypinyin import lazy_pinyin

        syllables = [s for s in lazy_pinyin(text.replace(" ", "")) if s.strip()]
        tokens = [syllables[0], "".join(syllables[1:])] if len(syllables) > 1 else syllables
    else:
        tokens = re.sub(r"[^\w ]+", " ", text).split()
    tokens = sorted(t for t in tokens if t)
    return " ".join(tokens) or None


def phone_key(value) -> str | None:
    """Digits of a phone number, national part only (the last ten digits), so
    +86 183-4613-0543 and 18346130543, or +44 7784 and 07784, are equal."""
    if not isinstance(value, str):
        return None
    digits = re.sub(r"\D", "", value)
    return digits[-10:] if len(digits) >= 6 else None


def email_key(value) -> tuple[str | None, str | None]:
    """(address, user): lower-cased, the user part without a +tag."""
    text = _text(value)
    if not text or "@" not in text:
        return None, None
    user, _, domain = text.rpartition("@")
    user = user.split("+", 1)[0]
    return f"{user}@{domain}", user or None


def id_key(value) -> str | None:
    if not isinstance(value, str):
        return None
    key = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", value)).upper()
    return key or None


_HASH = re.compile(r"^[0-9a-f]{32,}$")


def endpoint_keys(value, method=None) -> tuple[str | None, str | None]:
    """(endpoint, card key) of a payment endpoint. A card or bank number, whole or
    masked like 6214 **** **** 7906, gets the key first four + last four digits, so a
    masked number meets its full form. The endpoint itself is None when masked."""
    text = _text(value)
    if not text:
        return None, None
    if _HASH.match(text):
        return text, None
    compact = re.sub(r"[\s\-]", "", text)
    if re.fullmatch(r"[\d*xX•]+", compact):
        head = re.match(r"\d*", compact).group()
        tail = re.search(r"\d*$", compact).group()
        card = head[:4] + "|" + tail[-4:] if len(head) >= 4 and len(tail) >= 4 else None
        masked = not compact.isdigit()
        return (None if masked else compact), card
    if "@" in compact:
        return email_key(compact)[0], None
    return compact.upper() if re.fullmatch(r"[a-z]{2}\d{2}[a-z0-9]{8,}", compact) else compact, None


def address_text(value) -> str | None:
    text = _text(value)
    if not text:
        return None
    return re.sub(r"[\s,.;:#()（），。、-]+", " ", text).strip() or None


def address_key(value) -> str | None:
    """The address's numbers in order (street number, building, room, postcode): a
    reformatted or translated address keeps them. None with fewer than two."""
    text = address_text(value)
    if not text:
        return None
    groups = re.findall(r"\d+", text)
    return "|".join(groups) if len(groups) >= 2 else None


def ip_block(value) -> str | None:
    """The /24 block of an IPv4 address (first three octets)."""
    if not isinstance(value, str):
        return None
    parts = value.split(".")
    return ".".join(parts[:3]) if len(parts) == 4 else None


def _arrays(frame: pd.DataFrame, key: str, col: str) -> pd.Series:
    """Sorted distinct non-null values of ``col`` per ``key`` (a list per key)."""
    part = frame[[key, col]].dropna().drop_duplicates()
    return part.sort_values([key, col]).groupby(key)[col].agg(list)


def _first(frame: pd.DataFrame, key: str, col: str) -> pd.Series:
    part = frame[[key, col]].dropna()
    return part.groupby(key, sort=False)[col].first()


def shop_records(folder: str | Path, since: str | None = None) -> pd.DataFrame:
    """One row per shop for Splink: scalar "primary" columns (the first account's,
    the first address's) and array columns of every value the shop uses."""
    tables = read_layout(folder)
    shops, accounts = tables["shops"], tables["accounts"]
    devices, addresses, payments = tables["devices"], tables["addresses"], tables["payments"]
    created = pd.to_datetime(shops["created_at"], format="ISO8601", utc=True).dt.tz_localize(None)
    rec = pd.DataFrame({"unique_id": shops["shop_id"].to_numpy()})
    rec["shop_name"] = shops["name"].map(_text).to_numpy()
    rec["is_banned"] = (shops["status"] == "banned").to_numpy()
    rec["is_new"] = (created >= pd.Timestamp(since)).to_numpy() if since else False
    rec["created_at"] = created.to_numpy()
    ids = rec["unique_id"]

    def put(name: str, values: pd.Series) -> None:
        rec[name] = ids.map(values).to_numpy() if len(values) else None

    # accounts (in file order: the first account of a shop is its primary one)
    acc = accounts.copy()
    if len(acc):
        acc["holder"] = acc["holder_name"].map(name_key) if "holder_name" in acc else None
        acc["idn"] = acc["id_number"].map(id_key) if "id_number" in acc else None
        acc["phone_n"] = acc["phone"].map(phone_key) if "phone" in acc else None
        mails = acc["email"].map(email_key) if "email" in acc else pd.Series(
            [(None, None)] * len(acc), index=acc.index)
        acc["email_n"] = mails.str[0]
        acc["email_user"] = mails.str[1]
        dob_col = next((c for c in ("date_of_birth", "dob", "birth_date") if c in acc), None)
        acc["dob"] = acc[dob_col].map(lambda v: re.sub(r"\D", "", v) if isinstance(v, str)
                                      else None).replace("", None) if dob_col else None
        for col, out in (("holder", "holder_name"), ("idn", "id_number"), ("phone_n", "phone"),
                         ("email_n", "email"), ("email_user", "email_user"), ("dob", "dob")):
            put(out, _first(acc, "shop_id", col))
        put("ids", _arrays(acc, "shop_id", "idn"))
        put("phones", _arrays(acc, "shop_id", "phone_n"))
        put("emails", _arrays(acc, "shop_id", "email_n"))
        put("email_users", _arrays(acc, "shop_id", "email_user"))
        acc["id_tail"] = acc["idn"].map(lambda v: v[-6:] if isinstance(v, str) and len(v) >= 6
                                        else None)
        put("id_tails", _arrays(acc, "shop_id", "id_tail"))
        acc["phone_prefix"] = acc["phone_n"].map(
            lambda v: v[:8] if isinstance(v, str) and len(v) >= 10 else None)
        put("phone_prefixes", _arrays(acc, "shop_id", "phone_prefix"))
    # names: account holders and payment holders
    names = [acc[["shop_id", "holder"]]] if len(acc) else []
    pay = payments.copy()
    if len(pay):
        pay["holder"] = pay["holder_name"].map(name_key) if "holder_name" in pay else None
        keys = [endpoint_keys(v) for v in pay["endpoint"]]
        pay["endpoint_n"] = [k[0] for k in keys]
        pay["card_key"] = [k[1] for k in keys]
        put("endpoints", _arrays(pay, "shop_id", "endpoint_n"))
        put("card_keys", _arrays(pay, "shop_id", "card_key"))
        names.append(pay[["shop_id", "holder"]])
    if names:
        put("holder_names", _arrays(pd.concat(names), "shop_id", "holder"))
    # devices and IPs, via accounts
    if len(devices) and len(acc):
        dev = devices.merge(acc[["account_id", "shop_id"]], on="account_id")
        if "device_id" in dev:
            dev["device"] = dev["device_id"].map(_text)
            put("devices", _arrays(dev, "shop_id", "device"))
        if "ip" in dev:
            dev["ip_n"] = dev["ip"].map(_text)
            put("ips", _arrays(dev, "shop_id", "ip_n"))
            dev["ip_block"] = dev["ip_n"].map(ip_block)
            put("ip_blocks", _arrays(dev, "shop_id", "ip_block"))
    # dispatch addresses
    if len(addresses):
        adr = addresses.copy()
        adr["text"] = adr["address"].map(address_text)
        adr["key"] = adr["address"].map(address_key)
        put("address", _first(adr, "shop_id", "text"))
        put("addresses", _arrays(adr, "shop_id", "text"))
        put("address_keys", _arrays(adr, "shop_id", "key"))
        adr["building"] = adr["key"].map(
            lambda k: k.rsplit("|", 1)[0] if isinstance(k, str) and k.count("|") >= 2 else None)
        put("buildings", _arrays(adr, "shop_id", "building"))
        put("building", _first(adr, "shop_id", "building"))
        if "lat" in adr and "lon" in adr:
            geo = adr.dropna(subset=["lat", "lon"]).groupby("shop_id", sort=False).first()
            put("lat", pd.to_numeric(geo["lat"], errors="coerce"))
            put("lon", pd.to_numeric(geo["lon"], errors="coerce"))
    for col in ("holder_name", "id_number", "phone", "email", "email_user", "dob", "address",
                "building", "lat", "lon"):
        if col not in rec:
            rec[col] = None
    # edit distance is for typed ID numbers, not pre-hashed ones (sha256 hex)
    rec["id_typed"] = [v if isinstance(v, str) and not _HASH.match(v.lower()) else None
                       for v in rec["id_number"]]
    for col in ("ids", "phones", "emails", "email_users", "id_tails", "phone_prefixes",
                "endpoints", "card_keys", "holder_names", "devices", "ips", "ip_blocks",
                "addresses", "address_keys", "buildings"):
        if col not in rec:
            rec[col] = None
        rec[col] = [v if isinstance(v, list) and v else None for v in rec[col]]
    rec["lat"] = pd.to_numeric(rec["lat"], errors="coerce")
    rec["lon"] = pd.to_numeric(rec["lon"], errors="coerce")
    rec["geo_cell"] = [f"{round(a, 3)}|{round(b, 3)}" if pd.notna(a) and pd.notna(b) else None
                       for a, b in zip(rec["lat"], rec["lon"], strict=True)]
    return rec


# --------------------------------------------------------------------------------------
# Splink


@dataclass
class PeerResult:
    """What one peer produced for one dataset."""

    signups: pd.DataFrame                    # shop_id, risk, flag, matches
    operators: pd.Series | None = None       # shop_id -> operator label (every shop)
    compared: set = field(default_factory=set)  # (new shop, banned shop) pairs compared
    seconds: float = float("nan")
    detail: dict = field(default_factory=dict)


def _flag(risk: float) -> str:
    return ("high" if risk >= HIGH else "medium" if risk >= MEDIUM
            else "low" if risk > LOW else "none")


def splink_settings(records: pd.DataFrame):
    """The Splink model: comparisons and blocking rules (see benchmarks/README.md)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    def has(col: str) -> bool:
        return col in records and records[col].notna().any()

    def custom(name: str, null_col: str, levels: list) -> object:
        return cl.CustomComparison(output_column_name=name, comparison_levels=[
            cll.NullLevel(null_col), *levels, cll.ElseLevel()])

    comparisons = [
        cl.JaroWinklerAtThresholds("shop_name", [0.92, 0.8]).configure(
            term_frequency_adjustments=True),
        custom("holder_name", "holder_name", [
            cll.ExactMatchLevel("holder_name", term_frequency_adjustments=True),
            cll.ArrayIntersectLevel("holder_names", 1),
            cll.JaroWinklerLevel("holder_name", 0.92),
            cll.JaroWinklerLevel("holder_name", 0.8),
        ]),
    ]
    if has("id_number"):
        comparisons.append(custom("id_number", "id_number", [
            cll.ArrayIntersectLevel("ids", 1),
            cll.DamerauLevenshteinLevel("id_typed", 1),
            cll.DamerauLevenshteinLevel("id_typed", 2),
        ]))
    if has("dob"):
        comparisons.append(cl.DamerauLevenshteinAtThresholds("dob", [1]))
    if has("phone"):
        comparisons.append(custom("phone", "phone", [
            cll.ArrayIntersectLevel("phones", 1),
            cll.DamerauLevenshteinLevel("phone", 1),
            cll.ArrayIntersectLevel("phone_prefixes", 1),
        ]))
    if has("email"):
        comparisons.append(custom("email", "email", [
            cll.ArrayIntersectLevel("emails", 1),
            cll.ArrayIntersectLevel("email_users", 1),
            cll.JaroWinklerLevel("email_user", 0.88),
        ]))
    if has("devices"):
        comparisons.append(cl.ArrayIntersectAtSizes("devices", [2, 1]))
    if has("ips"):
        comparisons.append(custom("ips", "ips", [
            cll.ArrayIntersectLevel("ips", 2),
            cll.ArrayIntersectLevel("ips", 1),
            cll.ArrayIntersectLevel("ip_blocks", 1),
        ]))
    if has("endpoints") or has("card_keys"):
        null_col = "endpoints" if has("endpoints") else "card_keys"
        comparisons.append(custom("payment", null_col, [
            cll.ArrayIntersectLevel("endpoints", 1),
            cll.ArrayIntersectLevel("card_keys", 1),
        ]))
    if has("address"):
        comparisons.append(custom("address", "address", [
            cll.ExactMatchLevel("address", term_frequency_adjustments=True),
            cll.ArrayIntersectLevel("addresses", 1),
            cll.ArrayIntersectLevel("address_keys", 1),
            cll.ExactMatchLevel("building", term_frequency_adjustments=True),
            cll.ArrayIntersectLevel("buildings", 1),
            cll.JaroWinklerLevel("address", 0.9),
            cll.JaroWinklerLevel("address", 0.8),
        ]))
    if has("lat"):  # the same ~100 m cell, with term frequencies: parks are crowded
        comparisons.append(custom("geo", "geo_cell", [
            cll.ExactMatchLevel("geo_cell", term_frequency_adjustments=True),
            cll.DistanceInKMLevel("lat", "lon", 1),
            cll.DistanceInKMLevel("lat", "lon", 10),
        ]))

    # candidate pairs: any one shared value, exact or weak (exploded arrays)
    rules = [block_on("shop_name"), block_on("holder_names", arrays_to_explode=["holder_names"])]
    for col, present in (("ids", has("id_number")), ("id_tails", has("id_number")),
                         ("phones", has("phone")), ("phone_prefixes", has("phone")),
                         ("emails", has("email")), ("email_users", has("email")),
                         ("devices", has("devices")), ("ips", has("ips")),
                         ("ip_blocks", has("ips")), ("buildings", has("address")),
                         ("endpoints", has("endpoints")), ("card_keys", has("card_keys")),
                         ("addresses", has("address")), ("address_keys", has("address"))):
        if present:
            rules.append(block_on(col, arrays_to_explode=[col]))
    if has("dob"):
        rules.append(block_on("dob"))
    if has("lat"):
        rules.append(block_on("geo_cell"))
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=rules,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
        additional_columns_to_retain=["is_new", "is_banned"],
    )


def _linker(records: pd.DataFrame, settings):
    """A DuckDB linker, for Splink 4 (db_api argument) and 5 (registered tables)."""
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI()
    params = inspect.signature(Linker.__init__).parameters
    if "db_api" in params:  # Splink 4
        kwargs = {"set_up_basic_logging": False} if "set_up_basic_logging" in params else {}
        return Linker(records, settings, db_api, **kwargs)
    return Linker(db_api.register(records), settings, log_level=None)


def _train(linker, records: pd.DataFrame, seed: int, max_pairs: float,
           steps: dict | None = None, m_floor: float = M_FLOOR, em_pairs: str = "cross",
           em_keys: list[str] | None = None) -> None:
    """Prior from deterministic rules, u by random sampling, m by EM over several
    training blocks (each leaves the other comparisons free; Splink averages the m
    estimates of a comparison over the sessions that estimated it)."""
    from splink import block_on

    def has(col: str) -> bool:
        return col in records and records[col].notna().any()

    train = linker.training
    deterministic = [block_on(c) for c in ("id_number", "phone", "email") if has(c)]
    train.estimate_probability_two_random_records_match(
        deterministic or [block_on("holder_name", "address")], recall=0.7)
    mark = time.perf_counter()
    u_kwargs = {"num_chunks": 1} if "num_chunks" in inspect.signature(
        train.estimate_u_using_random_sampling).parameters else {}
    train.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed, **u_kwargs)
    steps = {} if steps is None else steps
    steps["u"] = time.perf_counter() - mark
    mark = time.perf_counter()
    # EM on the pairs the report is about: a banned shop against one that is not. The
    # same blocks over all shops teach EM that a match shares its holder's identity
    # (most multi-shop operators do), and a block on the address is dominated by
    # parks, warehouses and re-let rooms, which EM then takes for the matches: see
    # benchmarks/README.md.
    pair = " and (l.is_banned <> r.is_banned)" if em_pairs == "cross" else ""
    keys = em_keys or (["holder_name"] + [c for c in ("email_user", "dob") if has(c)]
                       + [f"{c}[1]" for c in ("devices", "endpoints") if has(c)])
    for key in keys:
        _em(linker, f"l.{key} = r.{key}{pair}")
    # EM puts m ~ 0 (down to 1e-100) on a level no training match happened to reach,
    # which turns one disagreeing field into a veto; floor it
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            m = None if level.is_null_level else level.m_probability
            if m is not None and m < m_floor:
                level.m_probability = m_floor
    steps["em"] = time.perf_counter() - mark


def _em(linker, rule: str) -> None:
    """One EM session. On a small block EM can drive an m towards 0 until Splink
    refuses the value (below 1e-300): then the session is run again with half the
    iterations (25, 12, 6, 3), i.e. stopped before the underflow. An empty block is
    skipped."""
    settings = linker._settings_obj
    original = settings.training_settings
    while True:
        # a failed session leaves the linker's model half-edited (Splink removes the
        # blocked comparisons and sets the prior in place): keep a copy to put back
        model = settings.core_model_settings.copy()
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True)
            break
        except Exception as err:  # noqa: BLE001 - an empty block, or an underflow
            settings.core_model_settings = model
            fewer = settings.training_settings.max_iterations // 2
            if "below the minimum" not in str(err) or fewer < 3:
                logging.getLogger(__name__).warning("EM on %s skipped: %s", rule, err)
                break
            settings.training_settings = dataclasses.replace(
                settings.training_settings, max_iterations=fewer)
    settings.training_settings = original


def run_splink(folder: str | Path, since: str, seed: int = 0, max_pairs: float = 5e6,
               cluster_threshold: float = CLUSTER_THRESHOLD,
               cluster_matches: bool = True, em_pairs: str = "cross",
               em_keys: list[str] | None = None) -> PeerResult:
    """Splink end to end on one dataset: sign-up report, operators (connected
    components of pairs at ``cluster_threshold``), the (new, banned) pairs its
    blocking produced, and the wall time.

    ``em_pairs``: ``"cross"`` (default) trains m on pairs of a banned shop and a
    shop that is not, ``"all"`` on pairs of any shops; ``em_keys`` replaces the
    EM blocking keys (SQL expressions of one record's columns)."""
    for name in ("splink", "duckdb"):
        logging.getLogger(name).setLevel(logging.ERROR)
    start = time.perf_counter()
    records = shop_records(folder, since)
    settings = splink_settings(records)
    linker = _linker(records, settings)
    steps = {"records": time.perf_counter() - start}
    _train(linker, records, seed, max_pairs, steps, em_pairs=em_pairs, em_keys=em_keys)
    mark = time.perf_counter()
    predict_kwargs = ({"warning_mode": "never"} if "warning_mode" in inspect.signature(
        linker.inference.predict).parameters else {})
    predictions = linker.inference.predict(**predict_kwargs)
    table = predictions.physical_name
    pairs = linker.misc.query_sql(f"""
        select unique_id_l, unique_id_r, match_probability, is_new_l, is_new_r,
               is_banned_l, is_banned_r
        from {table}
        where (is_new_l and is_banned_r) or (is_new_r and is_banned_l)""", output_type="pandas")
    left = pairs[pairs["is_new_l"] & pairs["is_banned_r"]]
    right = pairs[pairs["is_new_r"] & pairs["is_banned_l"]]
    scored = pd.concat([
        pd.DataFrame({"shop_id": left["unique_id_l"], "banned": left["unique_id_r"],
                      "p": left["match_probability"]}),
        pd.DataFrame({"shop_id": right["unique_id_r"], "banned": right["unique_id_l"],
                      "p": right["match_probability"]})])
    scored = scored[scored["shop_id"] != scored["banned"]]
    compared = set(zip(scored["shop_id"], scored["banned"], strict=True))
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=cluster_threshold)
    labels = linker.misc.query_sql(
        f"select unique_id, cluster_id from {clusters.physical_name}", output_type="pandas")
    operators = labels.set_index("unique_id")["cluster_id"].astype(str)
    candidate_pairs = int(linker.misc.query_sql(
        f"select count(*) as n from {table}", output_type="pandas")["n"].iloc[0])
    if cluster_matches:
        scored = pd.concat([scored, _cluster_links(records, scored, operators, cluster_threshold)])
    signups = _report(records, scored, since)
    steps["predict"] = time.perf_counter() - mark
    seconds = time.perf_counter() - start
    return PeerResult(signups, operators, compared, seconds,
                      {"candidate_pairs": candidate_pairs,
                       **{f"{k}_s": round(v, 1) for k, v in steps.items()}})


def _cluster_links(records: pd.DataFrame, scored: pd.DataFrame, operators: pd.Series,
                   threshold: float) -> pd.DataFrame:
    """(new shop, banned shop) pairs in one Splink cluster (a chain of pairs each at or
    above ``threshold``) that blocking did not pair directly: scored ``threshold``."""
    flags = records.set_index("unique_id")
    label = operators.reindex(flags.index)
    new = pd.DataFrame({"shop_id": flags.index[flags["is_new"]],
                        "c": label[flags["is_new"]].to_numpy()})
    banned = pd.DataFrame({"banned": flags.index[flags["is_banned"]],
                           "c": label[flags["is_banned"]].to_numpy()})
    pairs = new.merge(banned, on="c")
    pairs = pairs[pairs["shop_id"] != pairs["banned"]]
    known = set(zip(scored["shop_id"], scored["banned"], strict=True))
    keep = [(a, b) not in known for a, b in zip(pairs["shop_id"], pairs["banned"], strict=True)]
    pairs = pairs[keep]
    return pd.DataFrame({"shop_id": pairs["shop_id"], "banned": pairs["banned"],
                         "p": threshold})


def _report(records: pd.DataFrame, scored: pd.DataFrame, since: str) -> pd.DataFrame:
    """One row per shop created on/after ``since``: risk = best match probability to a
    banned shop, matches best first (score rounded to 4 places, ties by shop id)."""
    new = records.loc[records["is_new"], "unique_id"]
    scored = scored[scored["p"] > 0].copy()
    scored["p"] = scored["p"].astype(float)
    scored = scored.sort_values(["shop_id", "p", "banned"], ascending=[True, False, True])
    matches = {shop: [{"banned_shop_id": b, "score": round(float(p), 4)}
                      for b, p in zip(part["banned"], part["p"], strict=True)]
               for shop, part in scored.groupby("shop_id", sort=False)}
    rows = []
    for shop in new:
        found = matches.get(shop, [])
        risk = found[0]["score"] if found else 0.0
        rows.append({"shop_id": shop, "risk": risk, "flag": _flag(risk), "matches": found})
    out = pd.DataFrame(rows, columns=["shop_id", "risk", "flag", "matches"])
    return out.sort_values(["risk", "shop_id"], ascending=[False, True], kind="stable",
                           ignore_index=True)


def splink_signups(folder: Path, since: str, seed: int = 0) -> pd.DataFrame:
    """Splink's sign-up report: one row per shop created on/after ``since`` with
    shop_id, risk (best match probability to a banned shop, 0 when none), flag
    (high >= 0.9, medium >= 0.5, low > 0.1, else none) and matches
    (``[{"banned_shop_id", "score"}]`` best first)."""
    return run_splink(folder, since, seed).signups


# --------------------------------------------------------------------------------------
# exact-identifier baseline


def _exact_uses(records: pd.DataFrame) -> pd.DataFrame:
    """(shop_id, kind, value) of every strong identifier used verbatim."""
    parts = []
    for kind, col in (("device", "devices"), ("payment", "endpoints"), ("phone", "phones"),
                      ("email", "emails"), ("id_number", "ids")):
        if col in records:
            part = records[["unique_id", col]].explode(col).dropna()
            parts.append(pd.DataFrame({"shop_id": part["unique_id"], "kind": kind,
                                       "value": part[col]}))
    return pd.concat(parts, ignore_index=True).drop_duplicates()


def exact_operators(folder: str | Path, records: pd.DataFrame | None = None) -> pd.Series:
    """Union-find over exact strong identifiers: shop_id -> smallest shop id of its group."""
    import networkx as nx

    records = shop_records(folder) if records is None else records
    uses = _exact_uses(records)
    graph = nx.Graph()
    graph.add_nodes_from(records["unique_id"])
    for _, group in uses.groupby(["kind", "value"]):
        shops = group["shop_id"].tolist()
        graph.add_edges_from(zip(shops, shops[1:], strict=False))
    owner = {s: min(c) for c in nx.connected_components(graph) for s in c}
    return pd.Series(owner).reindex(records["unique_id"].to_numpy())


def exact_pairs(records: pd.DataFrame) -> pd.DataFrame:
    """(shop_id, banned) pairs of a new shop sharing an exact identifier with a banned one."""
    uses = _exact_uses(records)
    banned = set(records.loc[records["is_banned"], "unique_id"])
    new = set(records.loc[records["is_new"], "unique_id"])
    pairs = uses[uses["shop_id"].isin(new)].merge(
        uses[uses["shop_id"].isin(banned)], on=["kind", "value"], suffixes=("", "_b"))
    pairs = pairs[pairs["shop_id"] != pairs["shop_id_b"]]
    return pairs[["shop_id", "shop_id_b"]].drop_duplicates().rename(
        columns={"shop_id_b": "banned"})


def run_exact(folder: str | Path, since: str) -> PeerResult:
    """The exact baseline end to end: risk 1 when a new shop shares an exact strong
    identifier with a banned shop, else 0; matches are those banned shops."""
    start = time.perf_counter()
    records = shop_records(folder, since)
    pairs = exact_pairs(records)
    hits = pairs.sort_values(["shop_id", "banned"]).groupby("shop_id")["banned"].agg(list)
    new = records.loc[records["is_new"], "unique_id"]
    matches = [hits.get(s, []) for s in new]
    signups = pd.DataFrame({"shop_id": new.to_numpy(),
                            "risk": [1.0 if m else 0.0 for m in matches],
                            "flag": ["high" if m else "none" for m in matches],
                            "matches": [[{"banned_shop_id": b, "score": 1.0} for b in m]
                                        for m in matches]})
    operators = exact_operators(folder, records)
    compared = set(zip(pairs["shop_id"], pairs["banned"], strict=True))
    return PeerResult(signups, operators, compared, time.perf_counter() - start)


def exact_signups(folder: Path, since: str, seed: int = 0) -> pd.DataFrame:
    """The exact baseline's sign-up report (same columns as :func:`splink_signups`)."""
    return run_exact(folder, since).signups


# --------------------------------------------------------------------------------------
# clustering measure


def bcubed_f1(predicted, truth) -> dict[str, float]:
    """B-cubed precision, recall and F1: per item, the share of its predicted cluster
    that is truly its own (precision) and of its true cluster that it was put with
    (recall), averaged over items.

    >>> bcubed_f1(["a", "a", "b"], ["x", "x", "x"])["precision"]
    1.0
    >>> round(bcubed_f1(["a", "a", "b"], ["x", "x", "x"])["recall"], 3)
    0.556
    """
    frame = pd.DataFrame({"p": list(predicted), "t": list(truth)})
    cell = frame.groupby(["p", "t"]).size().rename("n").reset_index()
    cell["p_size"] = cell["p"].map(frame.groupby("p").size())
    cell["t_size"] = cell["t"].map(frame.groupby("t").size())
    total = len(frame)
    precision = float((cell["n"] ** 2 / cell["p_size"]).sum() / total) if total else 1.0
    recall = float((cell["n"] ** 2 / cell["t_size"]).sum() / total) if total else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def main() -> None:
    parser = argparse.ArgumentParser(description="Splink's sign-up report for a dataset")
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--since", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--exact", action="store_true", help="the exact baseline instead")
    args = parser.parse_args()
    result = (run_exact(args.dataset, args.since) if args.exact
              else run_splink(args.dataset, args.since, args.seed))
    with pd.option_context("display.width", 200, "display.max_colwidth", 80):
        print(result.signups.head(30).to_string())
    print(f"\n{len(result.signups)} sign-ups, {(result.signups['flag'] == 'high').sum()} high, "
          f"{result.seconds:.1f} s {result.detail}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
