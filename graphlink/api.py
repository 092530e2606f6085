"""The public Python API: the functions the CLI and the notebooks share.

A thin front: each name lives with its stage and is re-exported here.

- :mod:`graphlink.workflow.analyse`: :func:`load`, :func:`check`, :func:`analyse`
  (the data's path, one stage per line), :func:`train_model`, :func:`model_report`;
- :mod:`graphlink.scoring.analysis`: :class:`Analysis`, what an analysis found;
- :mod:`graphlink.reports.payloads`: the report builders (:func:`clusters_report`,
  :func:`signups_report`, :func:`factories_report`, :func:`spotcheck_report`);
- :mod:`graphlink.workflow.with_state`: analyse once, report many (:func:`open_state`,
  :func:`analysis_for`, :func:`analyse_into_state`, the ``*_with_state`` reports, ...).

The CLI calls the same functions, so a number in a report and in a notebook is the same.

>>> import graphlink as gl
>>> callable(gl.load) and callable(gl.analyse)
True
"""

from __future__ import annotations

from graphlink.reports.payloads import (
    clusters_report,
    explain_report,
    factories_report,
    signups_report,
    spotcheck_report,
)
from graphlink.scoring.analysis import Analysis, with_waterfalls
from graphlink.workflow.analyse import (
    ANALYSE_STAGES,
    Progress,
    analyse,
    check,
    load,
    model_report,
    train_model,
)
from graphlink.workflow.with_state import (
    ALL_REPORTS,
    KEY_CHECK,
    Notice,
    StaleState,
    analyse_into_state,
    analyse_report,
    analysis_for,
    changes_report,
    changes_with_state,
    open_state,
    report_all,
    signups_with_state,
)

__all__ = ["load", "check", "analyse", "Analysis", "train_model", "model_report",
           "clusters_report", "signups_report", "factories_report", "spotcheck_report",
           "analyse_into_state", "signups_with_state", "changes_with_state", "changes_report",
           "open_state", "analysis_for", "analyse_report", "report_all", "explain_report",
           "StaleState", "ALL_REPORTS", "with_waterfalls", "Progress", "ANALYSE_STAGES",
           "KEY_CHECK", "Notice"]
