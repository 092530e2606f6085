"""One shop's case file: `graphlink explain DATASET SHOP` (table, CSV, JSON, HTML).

The dossier of the shop (:func:`graphlink.scoring.dossier.dossier`: operator,
community, factory, the banned shops it is tied to with every piece of
evidence and the path) plus what a rights holder or a court asks for: where
each piece of evidence comes from (the source file and line of the row that
first showed the identifier on each shop), the dataset's fingerprint (each
file's size, modification time and SHA-256), the state run it was read from
and the match model's version.

Clear identifier values never appear: evidence and identifiers are shown
masked, as in every report (SECURITY.md).

>>> _where_text([{"file": "accounts.csv", "line": 12}, {"file": None, "line": None}])
'accounts.csv:12'
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from graphlink.linkage.model import model_version
from graphlink.reports.report import Report
from graphlink.scoring.casefile import SourcedExplainer
from graphlink.scoring.dossier import dossier, evidence_for

__all__ = ["case_file", "provenance"]


SCHEMA = "graphlink.explain/1"


def case_file(analysis, shop_id: str) -> Report:
    """The case file of ``shop_id`` (see the module docstring) as a report.

    >>> import graphlink as gl  # doctest: +SKIP
    >>> report = case_file(gl.analyse("marketplace"), "S000042")  # doctest: +SKIP
    >>> report.payload["provenance"]["model_version"]  # doctest: +SKIP
    'sha256:...'
    """
    # only the rows around the shop: a saved analysis reads just those
    evidence, ids, combined = evidence_for(analysis, shop_id)
    explainer = SourcedExplainer(evidence, ids, analysis.dataset.files, combined)
    found = dossier(analysis, shop_id, explainer)
    data = found.to_dict()
    data["identifiers"] = [{k: v for k, v in r.items() if k != "value"}  # masked display only
                           for r in data["identifiers"]]
    data["links"] = [{k: _plain(v) for k, v in r.items()} for r in data["links"]]
    payload = {"schema": SCHEMA, "dataset": str(analysis.dataset.source), "shop_id": shop_id,
               **data, "provenance": provenance(analysis)}
    verdicts = _verdicts_of(analysis, shop_id)
    if verdicts:  # additive: only when analysts judged one of its matches
        payload["verdicts"] = verdicts
    rows = [{"banned_shop_id": tie["banned_shop_id"], "score": tie["score"], "hops": tie["hops"],
             "kind": e["kind"], "detail": e["detail"], "source": _where_text(e.get("sources", []))}
            for tie in found.banned_ties for e in tie["evidence"]]
    notes = ["", *found.text.rstrip("\n").split("\n"), "",
             *[f"Verdict {v['verdict_id']}: {v['shop_id']} -> {v['banned_shop_id']} "
               f"{v['verdict']} by {v['by']} at {v['at']} (run {v['run']})" for v in verdicts],
             *_provenance_lines(payload)]
    return Report(f"Case file of shop {shop_id}", payload, rows,
                  ["banned_shop_id", "score", "hops", "kind", "detail", "source"], notes)


def _verdicts_of(analysis, shop_id: str) -> list[dict]:
    """The analysts' verdicts in force on the matches of (or with) ``shop_id``."""
    force = getattr(analysis, "verdicts", None)
    if force is None or not len(force):
        return []
    mine = force[(force["shop_id"] == shop_id) | (force["banned_shop_id"] == shop_id)]
    return [{k: r[k] for k in ("verdict_id", "shop_id", "banned_shop_id", "verdict", "by", "at",
                               "run", "note")} for r in mine.to_dict("records")]


def provenance(analysis) -> dict:
    """Where the analysis came from: dataset, its files (size, modification time,
    SHA-256), the state and run it was read from (None for a fresh analysis), the
    model version and the graphlink version."""
    from graphlink import __version__

    origin = getattr(analysis, "origin", None) or {}
    return {"dataset": str(analysis.dataset.source),
            "files": _files(analysis.dataset.source, analysis.dataset.files),
            "state": origin.get("state"), "run": origin.get("run"),
            "model_version": model_version(analysis.model), "graphlink": __version__}


def _files(source: str, files: dict[str, str]) -> list[dict]:
    folder = Path(source)
    out = []
    for table, name in sorted(files.items()):
        path = folder / name if folder.is_dir() else folder
        try:
            st = path.stat()
            out.append({"table": table, "file": name, "size": st.st_size,
                        "modified": pd.Timestamp(st.st_mtime_ns, unit="ns", tz="UTC").isoformat(),
                        "sha256": _sha256(path)})
        except OSError:
            out.append({"table": table, "file": name, "size": None, "modified": None,
                        "sha256": None})
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _where_text(sources: list[dict]) -> str:
    return " / ".join(f"{s['file']}:{s['line']}" for s in sources if s.get("file"))


def _provenance_lines(payload: dict) -> list[str]:
    p = payload["provenance"]
    read = f"state {p['state']} run {p['run']}" if p["run"] else "a fresh analysis"
    lines = [f"Provenance: dataset {p['dataset']}, read from {read}, model "
             f"{p['model_version'] or '(none)'}, graphlink {p['graphlink']}"]
    lines += [f"  {f['file']}: {f['size']} bytes, modified {f['modified']}, sha256 {f['sha256']}"
              for f in p["files"]]
    return lines

