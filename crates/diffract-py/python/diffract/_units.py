"""Units at the boundary: floats are in POPPY's default units (metres, arcseconds,
degrees); astropy Quantities are converted to them.

The type aliases here are those of the package's annotations: ``Length`` and ``Angle`` a
float in POPPY's default unit or an astropy ``Quantity``, ``Values`` one or several of
them, ``SourceSpectrum`` ``calc_psf``'s ``source`` mapping."""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence
from typing import Any, Union

import astropy.units as u
import numpy as np
import numpy.typing as npt
from astropy.units import Quantity

#: A number in POPPY's default unit (metres, arcseconds, degrees, ...) or an astropy
#: ``Quantity`` of a compatible unit.
Scalar = Union[float, Quantity]
#: A length: metres, or a ``Quantity`` (``50 * u.cm``).
Length = Scalar
#: An angle: in the unit the argument names (arcseconds, degrees or radians), or a
#: ``Quantity``.
Angle = Scalar
#: One or several numbers or Quantities: a number, a sequence, a numpy or Quantity array.
Values = Union[Scalar, Sequence[Scalar], npt.ArrayLike]
#: ``calc_psf``'s ``source``: ``{'wavelengths': Values, 'weights': Values}``.
SourceSpectrum = Mapping[str, Any]
#: A unit: an astropy unit or its name (``"m"``, ``"arcsec"``, ``""`` dimensionless).
UnitLike = Union[str, u.UnitBase]
#: A file name.
PathLike = Union[str, os.PathLike[str]]

#: POPPY's pixel scales may be given per pixel (``0.02 * u.arcsec / u.pixel``).
_PER_PIXEL = (u.arcsec / u.pixel, u.meter / u.pixel)


def _convert(value: Quantity, unit: UnitLike, name: str) -> Any:
    unit = u.Unit(unit)
    try:
        return value.to_value(unit)
    except u.UnitConversionError:
        for per_pixel in _PER_PIXEL:
            if per_pixel.physical_type == (unit / u.pixel).physical_type:
                try:
                    return value.to_value(unit / u.pixel)
                except u.UnitConversionError:
                    pass
        raise ValueError(
            f"{name}: {value} is not convertible to {unit} (the unit POPPY expects)"
        ) from None


def scalar(value: Scalar, unit: UnitLike, name: str) -> float:
    """``value`` (a number or a Quantity) as a float in ``unit``."""
    if isinstance(value, u.Quantity):
        value = _convert(value, unit, name)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number or an astropy Quantity, got {value!r}")
    return float(value)


def optional_scalar(value: Scalar | None, unit: UnitLike, name: str) -> float | None:
    """As :func:`scalar`, with ``None`` kept."""
    return None if value is None else scalar(value, unit, name)


def array(values: Values, unit: UnitLike, name: str) -> list[float]:
    """``values`` (a number, a sequence of numbers or Quantities, or a Quantity array) as a
    list of floats in ``unit``."""
    if isinstance(values, u.Quantity):
        values = _convert(values, unit, name)
    elif isinstance(values, (list, tuple)):
        values = [_convert(v, unit, name) if isinstance(v, u.Quantity) else v for v in values]
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numbers or astropy Quantities, got {values!r}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return [float(x) for x in arr]


def integer(value: Any, name: str) -> int:
    """``value`` as an int (a whole float such as 2.0 included, as numpy's)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return int(value)  # type: ignore[call-overload]  # typeshed: numbers.Real lacks __int__
    raise TypeError(f"{name} must be an integer, got {value!r}")


def spectrum(
    wavelength: Values, weight: Values | None = None, source: SourceSpectrum | None = None
) -> tuple[list[float], list[float] | None]:
    """``calc_psf``'s spectrum as (wavelengths in metres, weights or ``None``): from
    ``wavelength`` and ``weight``, or from ``source={'wavelengths': ..., 'weights': ...}``."""
    if source is not None:
        wavelength = source["wavelengths"]
        weight = source["weights"]
    wavelengths = array(wavelength, "m", "wavelength")
    weights = None if weight is None else array(weight, "", "weight")
    return wavelengths, weights
