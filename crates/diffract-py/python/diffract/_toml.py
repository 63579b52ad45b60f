"""Scene text (docs/scene-format.md) from plain values: the one format the command line and
the Python package share."""

import json
import math


def _value(v):
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
    raise TypeError(f"cannot write {v!r} into a scene")


def _table(lines, values):
    for key, v in values.items():
        if v is not None:
            lines.append(f"{key} = {_value(v)}")


def scene_text(top, source, optics, detector):
    """The scene's TOML: top-level keys, ``[source]``, one ``[[optic]]`` per dict of
    ``optics`` (in order) and ``[detector]`` (when not ``None``). ``None`` values are
    left out."""
    lines = []
    _table(lines, top)
    lines.append("\n[source]")
    _table(lines, source)
    for optic in optics:
        lines.append("\n[[optic]]")
        _table(lines, optic)
    if detector is not None:
        lines.append("\n[detector]")
        _table(lines, detector)
    return "\n".join(lines) + "\n"
