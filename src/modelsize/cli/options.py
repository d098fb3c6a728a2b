"""Options shared by several verbs, with their parsers.

Values are checked here, at parse time, so a bad value is a usage error (exit 2) with our one
message template: ``The 'depth' option must be an integer >= 0. Got -1.``
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from ..core.errors import option_error
from .errors import usage_problem
from .output import FORMATS, OutputFormat, base_for  # noqa: F401 - base_for: the verbs take it from here


def at_least(option: str, low: float) -> Any:
    """A typer callback refusing values under ``low`` in our one template (typer's own ``min=`` says
    "Input should be greater than or equal to 1", pydantic's wording)."""
    integer = isinstance(low, int)

    def check(value: Any) -> Any:
        if value is not None and value < low:
            kind = "an integer" if integer else "a number"
            raise usage_problem(option_error(option, f"{kind} >= {low:g}", value))
        return value

    return check


def parse_depth(value: Any) -> int:
    """``--depth``: an integer >= 0 (0 shows the model as one row)."""
    if isinstance(value, int) and not isinstance(value, bool):
        depth = value
    else:
        text = str(value).strip()
        if not re.fullmatch(r"[+-]?\d+", text):
            raise usage_problem(option_error("depth", "an integer >= 0", value))
        depth = int(text)
    if depth < 0:
        raise usage_problem(option_error("depth", "an integer >= 0", depth))
    return depth


def parse_format(value: Any) -> OutputFormat:
    """``--format``: one of table, json, csv (case-insensitive)."""
    text = str(value).strip().lower()
    if text not in FORMATS:
        allowed = "one of " + ", ".join(repr(f) for f in FORMATS)
        raise usage_problem(option_error("format", allowed, value))
    return text  # type: ignore[return-value]


Depth = Annotated[
    int,
    typer.Option(
        "--depth",
        "-d",
        parser=parse_depth,
        metavar="N",
        help="Show components nested up to N levels below the model (0: the model alone). "
        "Deeper components are folded into their parent's row. Table output only.",
    ),
]

Format = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        parser=parse_format,
        metavar="[table|json|csv]",
        help="table for people; json (raw integers, schema in schema/report.schema.json) or "
        "csv (one row per component and per tensor) for programs.",
    ),
]

SI = Annotated[
    bool,
    typer.Option(
        "--si",
        help="Print sizes in SI units (kB, MB: powers of 1000) instead of IEC (KiB, MiB: powers of 1024).",
    ),
]


def parse_shape(value: object, option: str = "input-shape") -> tuple[int, ...]:
    """One shape syntax everywhere: ``28x28x1`` or ``28,28,1`` (spaces allowed) → ``(28, 28, 1)``."""
    text = str(value).strip()
    if not re.fullmatch(r"\d+(\s*[xX×,]\s*\d+)*", text):
        raise usage_problem(option_error(option, "positive integers separated by 'x' or ',', e.g. 28x28x1 or "
                                                 "28,28,1 (one sample, no batch axis)", value))
    shape = tuple(int(d) for d in re.split(r"\s*[xX×,]\s*", text))
    if any(d <= 0 for d in shape):
        raise usage_problem(option_error(option, "positive integers, e.g. 28x28x1 or 28,28,1", value))
    return shape


Output_ = Annotated[
    str | None,
    typer.Option("--output", "-o", metavar="FILE",
                 help="Also write the result to FILE, in the format its extension names: "
                      ".json, .csv, .md, .html or .txt (the table)."),
]
