"""Studies: the seed article's claims about what drives model size, each measured and judged.

``run_study(get("ensembles"), "quick", store="sweeps.db")`` runs a study's sweeps (stored like
any sweep), and its verdicts are computed from the measured numbers with the study's
thresholds; ``modelsize.render.study_report.write_report(outcomes, "modelsize-report")`` writes
the combined HTML report "What drives model size" with a PNG per figure. Importing this package
loads no framework.
"""

from .base import DEPENDS, NOT_SUPPORTED, SCALES, SUPPORTED, Claim, Part, PlotSpec, Series, Study, Verdict
from .registry import STUDIES, get, names, select
from .run import StudyOutcome, run_study
from .verdict import MissingEvidence, result_from_rows

__all__ = [
    "DEPENDS", "NOT_SUPPORTED", "SCALES", "STUDIES", "SUPPORTED", "Claim", "MissingEvidence", "Part", "PlotSpec",
    "Series", "Study", "StudyOutcome", "Verdict", "get", "names", "result_from_rows", "run_study", "select",
]
