"""Scenes: the TOML files of the command line (docs/scene-format.md) as Python objects.

``load_scene(path)`` reads a scene file into a :class:`Scene` that computes its PSF as
``diffract psf`` does; ``Scene.from_system(osys, ...)`` (or ``OpticalSystem.to_toml``)
turns a system built in Python into scene text the command line runs. Scenes and systems
pickle (plain Python values), so they travel to dask workers.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from astropy.io import fits

from . import _diffract, _units
from ._conf import conf
from ._units import Length, PathLike, SourceSpectrum, Values
from .systems import OpticalSystem, hdulist_of

if TYPE_CHECKING:
    from .systems import PsfParts

__all__ = ["Scene", "load_scene"]


class Scene:
    """A scene of either propagation: its TOML text and, when read from a file, the file's path
    (which names it in errors, gives its default name and the folder relative paths such as
    ``fits_optic`` files and ``throughput`` tables start from).

    The text is checked when the scene is made, with the command line's one-line messages
    (``ValueError``). A Fresnel scene takes no ``offset`` (its source is on axis)."""

    def __init__(self, text: str, path: PathLike | None = None) -> None:
        self._text = str(text)
        self.path = None if path is None else os.path.abspath(os.fspath(path))
        _diffract.check_scene(self._text, file=self.path)

    @classmethod
    def from_system(
        cls,
        system: OpticalSystem,
        wavelength: Values = 1e-6,
        weight: Values | None = None,
        source: SourceSpectrum | None = None,
        normalize: str = "first",
        array_dir: PathLike | None = None,
    ) -> Scene:
        """The scene of an ``OpticalSystem`` with the spectrum ``calc_psf`` would take
        (``wavelength``, ``weight`` or ``source``, ``normalize``); optics from arrays are
        written into ``array_dir`` (``OpticalSystem.to_toml``)."""
        text = system.to_toml(
            wavelength, weight, source=source, normalize=normalize, array_dir=array_dir
        )
        return cls(text)

    def to_toml(self) -> str:
        """The scene text, as ``diffract psf`` reads it."""
        return self._text

    def save(self, path: PathLike) -> None:
        """Writes the scene text to ``path`` (relative paths in it are kept as written)."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self._text)

    def calc_psf(
        self, wavelength: Length | None = None, offset: Values | None = None
    ) -> fits.HDUList:
        """Computes the PSF as ``diffract psf`` does: an astropy ``HDUList`` as
        ``OpticalSystem.calc_psf``'s (oversampled primary HDU, ``DET_SAMP``).

        ``wavelength`` (metres or a Quantity) makes it monochromatic there instead of the
        scene's ``[source]`` spectrum; ``offset`` ``(x, y)`` arcsec moves the source as a
        grid point of ``diffract grid`` (POPPY's source_offset_x/_y)."""
        return hdulist_of(self._compute(wavelength, offset))

    def _compute(
        self,
        wavelength: Length | None = None,
        offset: Values | None = None,
        centre: bool = False,
        precision: str | None = None,
    ) -> PsfParts:
        """``compute_psf``'s parts: ``wavelength`` and ``offset`` as for :meth:`calc_psf`,
        ``centre`` the detector following the offset (a grid's centred stamps),
        ``precision`` (default ``diffract.conf.precision``)."""
        if wavelength is not None:
            wavelength = _units.scalar(wavelength, "m", "wavelength")
        if offset is not None:
            values = _units.array(offset, "arcsec", "offset")
            if len(values) != 2:
                raise ValueError(f"offset must be (x, y) arcsec, got {offset!r}")
            offset = (values[0], values[1])
        return _diffract.compute_psf(
            self._text,
            file=self.path,
            offset=offset,
            wavelength=wavelength,
            centre=centre,
            precision=conf.precision if precision is None else precision,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scene) and (self._text, self.path) == (other._text, other.path)

    def __hash__(self) -> int:
        return hash((self._text, self.path))

    def __repr__(self) -> str:
        where = "" if self.path is None else f" from {self.path}"
        return f"<Scene{where}: {len(self._text)} characters>"


def load_scene(path: PathLike) -> Scene:
    """Reads a scene file (docs/scene-format.md) into a :class:`Scene`: ``ValueError`` with
    the command line's message when the file cannot be read or is not a valid scene."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read scene: {e}") from e
    return Scene(text, path=path)
