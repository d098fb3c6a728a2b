"""Factors and their values: what a grid key changes, and how a value list is written.

A grid maps factor names to values. The name says what the factor changes:

* ``n_estimators`` or ``model.n_estimators`` — a constructor argument of the model factory;
* ``fit.epochs`` — a training argument (epochs, batch size, optimizer … or a keyword of ``fit``);
* ``data.n_samples`` — a data transform: ``n_samples``, ``n_features``, ``augment``, ``dtype``,
  ``image_size`` (see :mod:`.transforms`);
* ``dataset.n_features`` — an argument of the dataset itself (e.g. ``make_classification``'s);
* ``seed`` — the trial's seed (a grid over seeds repeats every setting);
* ``factory`` — the model factory itself (compare algorithms on the same data).

Values are a list, or a range written as a mapping: ``{from: 10, to: 200, step: 10}``
(both ends included) or ``{from: 8, to: 512, num: 7, scale: log}`` (integers when both ends
are integers, repeated values dropped).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..core.errors import option_error

#: Where a factor's value goes.
TARGETS = ("model", "fit", "data", "dataset", "seed", "factory")
#: Names of the data transforms (``data.<name>``).
DATA_TRANSFORMS = ("n_samples", "n_features", "augment", "dtype", "image_size")
#: Factors that are never an x-axis for growth laws (they label repeats or choices).
NON_AXIS = ("seed", "factory")


def route(name: str) -> tuple[str, str]:
    """``(target, argument)`` of a factor name; plain names are constructor arguments."""
    if name in ("seed", "factory"):
        return name, name
    prefix, dot, rest = name.partition(".")
    if dot and prefix in ("model", "fit", "data", "dataset"):
        if not rest:
            raise option_error("grid", f"factor names with an argument after {prefix + '.'!r}", name)
        if prefix == "data" and rest not in DATA_TRANSFORMS:
            raise option_error("grid", "a data transform named one of " + ", ".join(DATA_TRANSFORMS) + " after 'data.'", name)
        return prefix, rest
    return "model", name


def expand_values(name: str, values: Any) -> list[Any]:
    """The list of values of one factor (a list as given, or a range mapping expanded)."""
    if isinstance(values, Mapping):
        return _expand_range(name, values)
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise option_error(f"grid.{name}", "a list of values or a range like {from: 10, to: 200, step: 10}", values)
    out = list(values)
    if not out:
        raise option_error(f"grid.{name}", "a non-empty list of values", values)
    for value in out:
        _check_plain(name, value)
    return out


def _check_plain(name: str, value: Any) -> None:
    """Values must be plain data: they are stored, hashed and written to YAML and CSV."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_plain(name, item)
        return
    raise option_error(f"grid.{name}", "plain values (numbers, strings, booleans, lists of them)", value)


def _expand_range(name: str, spec: Mapping[str, Any]) -> list[Any]:
    allowed = {"from", "to", "step", "num", "scale"}
    unknown = set(spec) - allowed
    if unknown or "from" not in spec or "to" not in spec or ("step" in spec) == ("num" in spec):
        raise option_error(
            f"grid.{name}", "a range with 'from', 'to' and one of 'step' or 'num' (plus 'scale: log' with 'num')", dict(spec)
        )
    start, stop = spec["from"], spec["to"]
    for key, value in (("from", start), ("to", stop)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise option_error(f"grid.{name}.{key}", "a number", value)
    integers = isinstance(start, int) and isinstance(stop, int)
    if "step" in spec:
        step = spec["step"]
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
            raise option_error(f"grid.{name}.step", "a number > 0", step)
        count = int(math.floor((stop - start) / step + 1e-9)) + 1
        if count < 1:
            raise option_error(f"grid.{name}", "a range whose 'to' is not below 'from'", dict(spec))
        values = [start + i * step for i in range(count)]
        integers = integers and isinstance(step, int)
    else:
        num, scale = spec["num"], spec.get("scale", "linear")
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise option_error(f"grid.{name}.num", "an integer >= 1", num)
        if scale not in ("linear", "log"):
            raise option_error(f"grid.{name}.scale", "'linear' or 'log'", scale)
        if scale == "log" and (start <= 0 or stop <= 0):
            raise option_error(f"grid.{name}", "a log range with 'from' and 'to' > 0", dict(spec))
        values = _spaced(float(start), float(stop), num, scale == "log")
    if integers:
        values = list(dict.fromkeys(int(round(v)) for v in values))
    return values


def _spaced(start: float, stop: float, num: int, log: bool) -> list[float]:
    if num == 1:
        return [start]
    if log:
        a, b = math.log(start), math.log(stop)
        return [math.exp(a + (b - a) * i / (num - 1)) for i in range(num)]
    return [start + (stop - start) * i / (num - 1) for i in range(num)]


def product(grid: Mapping[str, Sequence[Any]]) -> Iterator[dict[str, Any]]:
    """Every combination of factor values, the first factor varying slowest."""
    names = list(grid)
    for combo in itertools.product(*(grid[n] for n in names)):
        yield dict(zip(names, combo))
