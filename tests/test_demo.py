"""`graphlink demo`, the first five minutes: the tour shows what graphlink is for (issue 17).

The demo world's last 90 days hold comebacks of every kind (an exact reuse,
fuzzy-only, a single weak signal), honest look-alikes and a new factory
dealer; the terminal shows a few high and medium flags with their reasons, a
factory lead, the totals, where the HTML report is and what to run next. The
flags are checked against the world's ground truth.
"""

from __future__ import annotations

import re
import tempfile
import warnings

import pandas as pd
import pytest
from click.testing import CliRunner

import graphlink.cli as cli_module
from graphlink.cli import cli

HONEST_LOOKALIKES = {"park", "warehouse", "nat", "common_name", "family", "room_turnover",
                     "card_collision"}


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    written = []
    patch = pytest.MonkeyPatch()
    patch.setattr(tempfile, "mkdtemp", lambda prefix="": str(folder))
    original = cli_module.write
    patch.setattr(cli_module, "write",
                  lambda report, fmt, output: (written.append(report), original(report, fmt,
                                                                                 output))[1])
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = CliRunner().invoke(cli, ["demo"])
    finally:
        patch.undo()
    assert result.exit_code == 0, result.output
    # Chinese in every figure with the packaged font: no glyph or font warning
    assert [str(w.message) for w in caught if "font" in str(w.message).lower()] == []
    assert "findfont" not in result.stderr and "Glyph" not in result.stderr
    world = folder / "marketplace"
    truth = pd.read_csv(f"{world}.truth/shops.csv", dtype=str, keep_default_na=False)
    signups = next(r for r in written if r.payload.get("schema") == "graphlink.signups/1")
    return result.stdout, world, truth.set_index("shop_id"), signups


def test_the_tour_prints_flags_a_factory_lead_the_report_and_what_next(tour):
    out, world, _, signups = tour
    flagged = re.findall(r"^  (S\d+)  (high|medium)\s+\d\.\d\d  banned (S\d+): \S", out, re.M)
    assert {f for _, f, _ in flagged} == {"high", "medium"} and 3 <= len(flagged) <= 8
    assert re.search(r"^Factory lead F-\S+ \(score [\d.]+\): \d+ shops .* new since "
                     r"\d{4}-\d\d-\d\d: S\d+", out, re.M)
    html = world.with_name("marketplace.signups.html")
    totals = re.search(r"^(\d+) sign-ups since (\S+): (\d+) high, (\d+) medium, (\d+) low, "
                       r"(\d+) none; full report: (.+)$", out, re.M)
    assert totals and totals.group(7) == str(html) and html.stat().st_size > 10_000
    assert int(totals.group(1)) == len(signups.payload["signups"])
    assert "next:" in out and f"graphlink report signups {world} --since 90d" in out
    assert "Traceback" not in out


def test_high_and_medium_flags_are_true_comebacks(tour):
    out, _, truth, signups = tour
    flagged = [s for s in signups.payload["signups"] if s["flag"] in ("high", "medium")]
    assert sum(s["flag"] == "high" for s in flagged) >= 3
    assert sum(s["flag"] == "medium" for s in flagged) >= 1
    roles = truth.loc[[s["shop_id"] for s in flagged], "role"]
    assert (roles == "reregistration").all(), roles[roles != "reregistration"]
    for s in flagged:  # the best match is one of the banned shops it really comes back from
        parents = truth.at[s["shop_id"], "parent_shop_ids"].split(";")
        operator = truth.at[s["shop_id"], "operator_id"]
        best = s["matches"][0]["banned_shop_id"]
        assert best in parents or truth.at[best, "operator_id"] == operator
    shown = re.findall(r"^  (S\d+)  (?:high|medium) ", out, re.M)
    assert set(shown) <= {s["shop_id"] for s in flagged}


def test_the_window_holds_every_kind_and_honest_look_alikes_stay_unflagged(tour):
    _, _, truth, signups = tour
    window = truth.loc[[s["shop_id"] for s in signups.payload["signups"]]]
    flag = pd.Series({s["shop_id"]: s["flag"] for s in signups.payload["signups"]})
    tiers = set(window.loc[window["role"] == "reregistration", "tier"])
    assert {"exact", "fuzzy", "single"} <= tiers
    lookalikes = window[window["role"].isin(HONEST_LOOKALIKES)]
    assert len(lookalikes) >= 5 and len(set(lookalikes["role"])) >= 3
    assert (flag[lookalikes.index] == "none").all()
    honest = window[~window["role"].isin({"reregistration", "counterfeit_banned"})]
    assert not flag[honest.index].isin(["high", "medium"]).any()
    assert (window["role"] == "dealer").any()  # a new factory dealer: the factory lead
