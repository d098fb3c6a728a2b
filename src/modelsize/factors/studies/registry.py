"""The studies by name, imported only when asked for (each module may name heavy factories)."""

from __future__ import annotations

from ...core.errors import option_error
from ...core.registry import Registry
from .base import Study

#: name -> module holding ``STUDY``. Order is the report's order. Other packages add studies
#: through the ``modelsize.studies`` entry-point group.
STUDIES = Registry("study", attr="STUDY", group="modelsize.studies", entries={
    "complexity": "modelsize.factors.studies.complexity",
    "ensembles": "modelsize.factors.studies.ensembles",
    "regularization": "modelsize.factors.studies.regularization",
    "data_size": "modelsize.factors.studies.data_size",
    "features": "modelsize.factors.studies.features",
    "augmentation": "modelsize.factors.studies.augmentation",
    "precision": "modelsize.factors.studies.precision",
})


def names() -> list[str]:
    return list(STUDIES)


def get(name: str) -> Study:
    """The study called ``name`` (an :class:`~modelsize.core.errors.OptionError` names the choices)."""
    if name not in STUDIES:
        raise option_error("study", "one of " + ", ".join(STUDIES) + " or 'all'", name)
    return STUDIES[name]


def select(name: str) -> list[Study]:
    """``all`` → every study in report order; otherwise the one named."""
    return [get(n) for n in STUDIES] if name == "all" else [get(name)]
