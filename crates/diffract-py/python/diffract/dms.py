"""Deformable mirrors with POPPY's names (POPPY's ``poppy.dms``): a continuous
face-sheet mirror and hexagonal or circular segmented mirrors. The commanded surface is
held here as a numpy array in metres and written into the scene as the mirror's keys
(docs/scene-format.md, "Pupil planes: deformable mirrors"); the Rust library computes the
OPD."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import astropy.units as u
import numpy as np
import numpy.typing as npt
from astropy.io import fits

from . import _units
from ._units import Angle, Length, PathLike, Values
from .optics import AnalyticOpticalElement, OpticalElement

__all__ = [
    "CircularSegmentedDeformableMirror",
    "ContinuousDeformableMirror",
    "HexSegmentedDeformableMirror",
]


def _metres(value: Values, name: str) -> npt.NDArray[np.float64]:
    """A number, array or Quantity as float metres."""
    if isinstance(value, u.Quantity):
        try:
            return np.asarray(value.to_value(u.m), dtype=float)
        except u.UnitConversionError:
            raise ValueError(f"{name}: {value} is not a length") from None
    return np.asarray(value, dtype=float)


def _no_placement(optic: OpticalElement, kwargs: dict[str, Any]) -> None:
    for key in ("shift_x", "shift_y", "rotation", "inclination_x", "inclination_y"):
        if kwargs.get(key) not in (None, 0, 0.0):
            raise NotImplementedError(
                f"{type(optic).__name__}({key}=): diffract's deformable mirrors take no "
                "shift, rotation or inclination; place the DM's pupil instead"
            )
        kwargs.pop(key, None)
    kwargs.pop("verbose", None)


class ContinuousDeformableMirror(AnalyticOpticalElement):
    """A continuous face-sheet DM (POPPY's ``ContinuousDeformableMirror``): ``dm_shape``
    (rows, columns) of actuators ((10, 10)), ``actuator_spacing`` (metres; default
    2 ``radius`` / (rows - 1)), ``radius`` (1 m) of the gray-edged reflective circle,
    ``influence_func`` (None: POPPY's Gaussian influence functions; or a FITS file name or
    ``HDUList`` with a ``SAMPLING`` keyword), ``flip_x``, ``flip_y``,
    ``include_factor_of_two`` (False: the values are the OPD; True: surface heights).

    Command it with ``set_actuator(actx, acty, value)``, ``set_surface(array or value)``
    and ``flatten()``; ``surface`` is the commanded array in metres, row 0 at -Y."""

    _kind = "continuous_deformable_mirror"

    def __init__(
        self,
        dm_shape: Sequence[int] = (10, 10),
        actuator_spacing: Length | None = None,
        influence_func: PathLike | fits.HDUList | None = None,
        name: str = "DM",
        include_actuator_print_through: bool = False,
        actuator_print_through_file: PathLike | None = None,
        actuator_mask_file: PathLike | None = None,
        radius: Length = 1.0,
        flip_x: bool = False,
        flip_y: bool = False,
        include_factor_of_two: bool = False,
        **kwargs: Any,
    ) -> None:
        if include_actuator_print_through or actuator_print_through_file is not None:
            raise NotImplementedError(
                "ContinuousDeformableMirror(include_actuator_print_through=): diffract's DM "
                "has no actuator print-through"
            )
        if actuator_mask_file is not None:
            raise NotImplementedError(
                "ContinuousDeformableMirror(actuator_mask_file=): diffract's DM has no "
                "actuator masks"
            )
        _no_placement(self, kwargs)
        super().__init__(name=name, **kwargs)
        self._dm_shape = tuple(_units.integer(n, "dm_shape") for n in dm_shape)
        if len(self._dm_shape) != 2:
            raise ValueError(f"dm_shape must be (rows, columns), got {dm_shape!r}")
        self._surface = np.zeros(self._dm_shape)
        self.numacross = self._dm_shape[0]
        self.radius = _units.scalar(radius, "m", "radius")
        if actuator_spacing is None:
            self.actuator_spacing = 2 * self.radius / (self.numacross - 1)
        else:
            self.actuator_spacing = _units.scalar(actuator_spacing, "m", "actuator_spacing")
        self.pupil_diam = max(max(self._dm_shape) * self.actuator_spacing, 2 * self.radius)
        self.flip_x = bool(flip_x)
        self.flip_y = bool(flip_y)
        self.include_factor_of_two = bool(include_factor_of_two)
        if influence_func is None or isinstance(influence_func, (str, os.PathLike)):
            self.influence_func = influence_func
        elif isinstance(influence_func, fits.HDUList):
            self.influence_func = fits.HDUList([influence_func[0].copy()])
        else:
            raise TypeError(
                "influence_func must be None, a FITS file name or an HDUList, got "
                f"{type(influence_func).__name__}"
            )

    @property
    def dm_shape(self) -> tuple[int, ...]:
        """The actuators ``(rows, columns)``."""
        return self._dm_shape

    @property
    def surface(self) -> npt.NDArray[np.float64]:
        """The commanded surface, in metres (row 0 at -Y); the OPD is this, or twice it
        with ``include_factor_of_two``."""
        return self._surface

    def set_surface(self, new_surface: Values) -> None:
        """Sets every actuator: an array of ``dm_shape`` or one value, in metres (or a
        Quantity)."""
        values = _metres(new_surface, "new_surface")
        if values.ndim == 0:
            self._surface[:] = float(values)
            return
        if values.shape != self._surface.shape:
            raise ValueError(
                f"Supplied surface shape doesn't match DM. Must be {self._surface.shape}"
            )
        self._surface[:] = values

    def set_actuator(self, actx: int, acty: int, new_value: Length) -> None:
        """Sets actuator (``actx``, ``acty``) (column, row) to ``new_value`` metres (or a
        Quantity)."""
        if actx < 0 or actx > self._dm_shape[1] - 1:
            raise ValueError("X axis coordinate is out of range")
        if acty < 0 or acty > self._dm_shape[0] - 1:
            raise ValueError("Y axis coordinate is out of range")
        self._surface[acty, actx] = float(_metres(new_value, "new_value"))

    def flatten(self) -> None:
        """Sets every actuator to 0."""
        self._surface[:] = 0

    def _pupil_diameter(self) -> float:
        return self.pupil_diam

    def _keys_in(self, plane: str, ctx: dict[str, Any] | None) -> dict[str, Any]:
        keys = {
            "dm_shape": list(self._dm_shape),
            "actuator_spacing_m": self.actuator_spacing,
            "radius_m": self.radius,
            "surface_m": [[float(v) for v in row] for row in self._surface],
            "flip_x": self.flip_x,
            "flip_y": self.flip_y,
            "include_factor_of_two": self.include_factor_of_two,
        }
        if isinstance(self.influence_func, fits.HDUList):
            if ctx is None or ctx["files"].directory is None:
                keys["influence_path"] = "<influence function, written when computed>"
            else:
                path = os.path.join(ctx["files"].directory, f"influence{id(self)}.fits")
                self.influence_func.writeto(path, overwrite=True)
                keys["influence_path"] = path
        elif self.influence_func is not None:
            keys["influence_path"] = os.path.abspath(os.fspath(self.influence_func))
        return keys


def _segment_count(rings: int) -> int:
    return 1 + 3 * rings * (rings + 1)


class _SegmentedDeformableMirror(AnalyticOpticalElement):
    """Piston, tip and tilt per segment (POPPY's ``SegmentedDeformableMirror``)."""

    # Set by the subclasses' constructors.
    rings: int
    center: bool
    _segments: list[int] | None
    _surface: npt.NDArray[np.float64]

    def _geometry(self) -> dict[str, Any]:
        """The scene keys of the segments' layout."""
        raise NotImplementedError

    def _init_surface(self, rings: int, include_factor_of_two: bool) -> None:
        self.rings = _units.integer(rings, "rings")
        # POPPY's array: segments of rings + 1 rings, columns piston, tip, tilt.
        self._surface = np.zeros((_segment_count(self.rings + 1), 3))
        self.include_factor_of_two = bool(include_factor_of_two)

    @property
    def segmentlist(self) -> list[int]:
        """The segments present (0 the centre)."""
        if self._segments is not None:
            return list(self._segments)
        first = 0 if self.center else 1
        return list(range(first, _segment_count(self.rings)))

    @property
    def dm_shape(self) -> int:
        """The number of segments."""
        return len(self.segmentlist)

    @property
    def surface(self) -> npt.NDArray[np.float64]:
        """The commanded piston (metres), tip and tilt (radians) of each segment, one row
        per segment number."""
        return self._surface

    def flatten(self) -> None:
        """Sets every segment's piston, tip and tilt to 0."""
        self._surface[:] = 0

    def set_actuator(self, segnum: int, piston: Length, tip: Angle, tilt: Angle) -> None:
        """Sets segment ``segnum``: ``piston`` in metres, ``tip`` and ``tilt`` in radians
        (or Quantities); tip multiplies x and tilt y from the segment's centre."""
        if segnum not in self.segmentlist:
            raise ValueError(f"Segment {segnum} is not present for this DM instance.")
        self._surface[segnum] = [
            float(_metres(piston, "piston")),
            _units.scalar(tip, "rad", "tip"),
            _units.scalar(tilt, "rad", "tilt"),
        ]

    def _keys_in(self, plane: str, ctx: dict[str, Any] | None) -> dict[str, Any]:
        n = _segment_count(self.rings)
        keys = self._geometry()
        keys.update(
            {
                "center": self.center,
                "segments": None if self._segments is None else list(self._segments),
                "piston_m": [float(v) for v in self._surface[:n, 0]],
                "tip_rad": [float(v) for v in self._surface[:n, 1]],
                "tilt_rad": [float(v) for v in self._surface[:n, 2]],
                "include_factor_of_two": self.include_factor_of_two,
            }
        )
        return keys


class HexSegmentedDeformableMirror(_SegmentedDeformableMirror):
    """A hexagonally segmented DM (POPPY's ``HexSegmentedDeformableMirror``): ``rings``
    (3), ``flattoflat`` (1 m), ``gap`` (0.01 m), ``center`` (True), ``segmentlist``
    (all), ``include_factor_of_two`` (False); hard-edged segments. ``set_actuator(segnum,
    piston, tip, tilt)``, ``flatten()``, ``surface``."""

    _kind = "hex_segmented_deformable_mirror"

    def __init__(
        self,
        rings: int = 3,
        flattoflat: Length = 1.0,
        gap: Length = 0.01,
        name: str = "HexDM",
        center: bool = True,
        include_factor_of_two: bool = False,
        segmentlist: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        _no_placement(self, kwargs)
        super().__init__(name=name, **kwargs)
        self._init_surface(rings, include_factor_of_two)
        self.flattoflat = _units.scalar(flattoflat, "m", "flattoflat")
        self.gap = _units.scalar(gap, "m", "gap")
        self.center = bool(center)
        self._segments = (
            None if segmentlist is None else [_units.integer(s, "segmentlist") for s in segmentlist]
        )

    def _geometry(self) -> dict[str, Any]:
        return {"rings": self.rings, "flattoflat_m": self.flattoflat, "gap_m": self.gap}


class CircularSegmentedDeformableMirror(_SegmentedDeformableMirror):
    """A DM of circular segments (POPPY's ``CircularSegmentedDeformableMirror``):
    ``rings`` (1), ``segment_radius`` (1 m), ``gap`` (0.01 m), ``center`` (True),
    ``segmentlist`` (all), ``include_factor_of_two`` (False); hard-edged circles, as
    POPPY's DM transmission. ``set_actuator(segnum, piston,
    tip, tilt)``, ``flatten()``, ``surface``."""

    _kind = "circular_segmented_deformable_mirror"

    def __init__(
        self,
        rings: int = 1,
        segment_radius: Length = 1.0,
        gap: Length = 0.01,
        name: str = "CircSegDM",
        center: bool = True,
        include_factor_of_two: bool = False,
        segmentlist: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        _no_placement(self, kwargs)
        super().__init__(name=name, **kwargs)
        self._init_surface(rings, include_factor_of_two)
        self.segment_radius = _units.scalar(segment_radius, "m", "segment_radius")
        self.gap = _units.scalar(gap, "m", "gap")
        self.center = bool(center)
        self._segments = (
            None if segmentlist is None else [_units.integer(s, "segmentlist") for s in segmentlist]
        )

    def _geometry(self) -> dict[str, Any]:
        return {"rings": self.rings, "segment_radius_m": self.segment_radius, "gap_m": self.gap}
