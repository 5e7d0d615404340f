"""The kinds of numeric detection setting, each with its allowed range.

Every number of the detection configuration (``[explanation]``, ``[routine]``, ...,
``[detectors.<id>]``) is declared as one of these kinds. msgspec checks the range when
the file is converted, once, at load (:func:`~insiderwatch.detect.config.load_detection_config`),
and :func:`explain_error` words a value outside it as the setting and the range.
A test fails when a detector declares a number of no kind (tests/test_detect_ranges.py).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
import msgspec.inspect as mi

# A quantile of a distribution: 1 is the largest value.
Quantile = Annotated[float, msgspec.Meta(gt=0, le=1)]
# A share of something, a fraction of a whole.
Share = Annotated[float, msgspec.Meta(ge=0, le=1)]
# A probability of a tail, whose logarithm is taken: neither 0 nor 1.
Tail = Annotated[float, msgspec.Meta(gt=0, lt=1)]
# Points, weights and deviations: none may count against.
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
# Factors, scales, lifts and priors: a share of nothing or a division by nothing is no line.
Positive = Annotated[float, msgspec.Meta(gt=0)]
# A number of things (records, customers, minutes of slack): none may be a setting.
Count = Annotated[int, msgspec.Meta(ge=0)]
# Windows, days, staff and evidence a rule needs: at least one.
AtLeastOne = Annotated[int, msgspec.Meta(ge=1)]
# A risk score, 0 to 100.
Score = Annotated[float, msgspec.Meta(ge=0, le=100)]
# An hour of the day, UTC.
HourOfDay = Annotated[int, msgspec.Meta(ge=0, le=23)]
# A number of hours in a day.
HoursInDay = Annotated[int, msgspec.Meta(ge=1, le=24)]

_NUMBERS = (mi.IntType, mi.FloatType)


def check_order(settings: Any, low: str, high: str, why: str, *, equal: bool = False) -> None:
    """One setting against another, for a struct's ``__post_init__``: ``low`` must be below
    ``high`` (or equal, with ``equal``). msgspec reports the ValueError at load as the
    struct's problem, so the error names the file, the table and both settings."""
    a, b = getattr(settings, low), getattr(settings, high)
    if a < b or (equal and a == b):
        return
    order = "at most" if equal else "below"
    raise ValueError(f"{low} ({a:g}) must be {order} {high} ({b:g}): {why}")


def describe(t: mi.IntType | mi.FloatType) -> str:
    """A numeric type's range as text: ``in (0, 1]``, ``>= 1``; '' when it has none."""
    low = f"({t.gt:g}" if t.gt is not None else f"[{t.ge:g}" if t.ge is not None else ""
    high = f"{t.lt:g})" if t.lt is not None else f"{t.le:g}]" if t.le is not None else ""
    if low and high:
        return f"in {low}, {high}"
    if low:
        return (">= " if low[0] == "[" else "> ") + low[1:]
    if high:
        return ("<= " if high[-1] == "]" else "< ") + high[:-1]
    return ""


def unbounded(t: Any) -> bool:
    """Whether a numeric type has no bound at all."""
    return isinstance(t, _NUMBERS) and not describe(t)


def numeric_types(t: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every numeric setting of a type (struct fields, list items, optional values, map
    values), by dotted path: what a range must be declared for."""
    if isinstance(t, _NUMBERS):
        return [(path, t)]
    if isinstance(t, mi.StructType):
        return [p for f in t.fields for p in numeric_types(f.type, f"{path}.{f.name}".lstrip("."))]
    if isinstance(t, mi.ListType):
        return numeric_types(t.item_type, f"{path}[]")
    if isinstance(t, mi.DictType):
        return numeric_types(t.value_type, f"{path}{{}}")
    if isinstance(t, mi.UnionType):
        return [p for member in t.types for p in numeric_types(member, path)]
    return []


_AT = re.compile(r" - at `\$((?:\.\w+|\[\d+\])*)`$")


def explain_error(exc: msgspec.ValidationError, struct: type, raw: Any) -> tuple[str, str]:
    """``(setting, problem)`` of a failed conversion of ``raw`` to ``struct``: the
    setting's dotted path within ``raw`` ('' when msgspec names none) and, for a number
    outside its declared range, what it must be; msgspec's own words otherwise."""
    text = str(exc)
    found = _AT.search(text)
    if found is None:
        return "", text
    steps = re.findall(r"\.(\w+)|\[(\d+)\]", found.group(1))
    setting = "".join(f".{n}" if n else f"[{i}]" for n, i in steps).lstrip(".")
    problem = text[: found.start()]
    t: Any = mi.type_info(struct)
    value = raw
    for name, index in steps:
        try:
            t, value = _step(t, value, name, index)
        except (KeyError, IndexError, TypeError, StopIteration):
            return setting, problem
    if isinstance(t, _NUMBERS) and describe(t) and _is_number(value):
        problem = f"{value!r} is outside the allowed range: it must be {describe(t)}"
    return setting, problem


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _step(t: Any, value: Any, name: str, index: str) -> tuple[Any, Any]:
    while isinstance(t, mi.UnionType):  # an optional setting: the numeric member
        t = next(m for m in t.types if not isinstance(m, mi.NoneType))
    if index:
        return t.item_type, value[int(index)]
    if isinstance(t, mi.DictType):
        return t.value_type, value[name]
    field = next(f for f in t.fields if f.encode_name == name)
    return field.type, value[name]
