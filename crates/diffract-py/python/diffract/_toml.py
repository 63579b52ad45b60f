"""Scene text (docs/scene-format.md) from plain values: the one format the command line and
the Python package share."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):  # an inline table (an optic inside a compound or a stage)
        items = ", ".join(f"{k} = {_value(x)}" for k, x in v.items() if x is not None)
        return "{ " + items + " }"
    raise TypeError(f"cannot write {v!r} into a scene")


def _table(lines: list[str], values: Mapping[str, Any]) -> None:
    for key, v in values.items():
        if v is not None:
            lines.append(f"{key} = {_value(v)}")


def scene_text(
    top: Mapping[str, Any],
    source: Mapping[str, Any],
    optics: Sequence[Mapping[str, Any]],
    detector: Mapping[str, Any] | None,
    coronagraph: Mapping[str, Any] | None = None,
) -> str:
    """The scene's TOML: top-level keys, ``[source]``, one ``[[optic]]`` per dict of
    ``optics`` (in order), ``[detector]`` and ``[coronagraph]`` (each when not ``None``).
    ``None`` values are left out."""
    lines: list[str] = []
    _table(lines, top)
    lines.append("\n[source]")
    _table(lines, source)
    for optic in optics:
        lines.append("\n[[optic]]")
        _table(lines, optic)
    if detector is not None:
        lines.append("\n[detector]")
        _table(lines, detector)
    if coronagraph is not None:
        lines.append("\n[coronagraph]")
        _table(lines, coronagraph)
    return "\n".join(lines) + "\n"
