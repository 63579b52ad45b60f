"""Optics from numpy arrays and FITS files (POPPY's ``ArrayOpticalElement`` and
``FITSOpticalElement``).

Both hold their transmission and OPD as numpy arrays. When a PSF is computed, the arrays
are written as FITS files into a temporary directory that is removed when the computation
ends, and the scene names them in a ``fits_optic`` table (docs/scene-format.md); the user's
directories are never written to. POPPY's flips, rotations by multiples of 90 degrees and
integer-pixel shifts are applied here, exactly as POPPY applies them; other rotations are
left to the Rust library (bilinear, where POPPY uses a cubic spline).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any, cast

import astropy.units as u
import numpy as np
import numpy.typing as npt
from astropy.io import fits

from . import _units
from ._units import Angle, Length, PathLike, Quantity, Scalar
from .optics import OpticalElement
from .wavefront import PlaneType, Wavefront

__all__ = ["ArrayOpticalElement", "FITSOpticalElement"]


class ArrayFiles:
    """Writes arrays as FITS files into ``directory`` (a temporary one) and returns their
    absolute paths; with ``directory=None`` (``describe()``) nothing is written and the
    paths are placeholders."""

    def __init__(self, directory: str | None) -> None:
        self.directory = directory
        self.count = 0

    def write(self, array: npt.ArrayLike, what: str) -> str:
        self.count += 1
        if self.directory is None:
            return f"<{what} array {self.count}, written when the PSF is computed>"
        path = os.path.join(self.directory, f"array{self.count}_{what}.fits")
        fits.PrimaryHDU(np.ascontiguousarray(array, dtype=np.float64)).writeto(path)
        return path


def _wavelength(wave: Any) -> float:
    """A wavelength in metres from a float, a Quantity or a wavefront-like object."""
    wave = getattr(wave, "wavelength", wave)
    return _units.scalar(wave, "m", "wave")


def _array2d(value: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {arr.shape}")
    return arr


class ArrayOpticalElement(OpticalElement):
    """An optic from numpy arrays (POPPY's ``ArrayOpticalElement``): ``transmission``
    (amplitude, 0 to 1) and/or ``opd`` (metres), of the same shape, row 0 at -Y;
    ``pixelscale`` in metres per pixel in pupil planes or arcsec per pixel in image planes
    (a float or a Quantity; default: the system's pupil sampling, ``pupil_diameter /
    npix``, in a pupil plane).

    Where the pixel scale equals the system's (to 0.1%) the arrays are used as they are,
    centred and cropped or zero-padded; otherwise they are resampled bilinearly (POPPY: a
    cubic spline). As the first optic, the array's rows set the system's ``npix`` when it
    has none, as POPPY's."""

    _kind = "fits_optic"
    _planes = ("pupil", "image")

    def __init__(
        self,
        opd: npt.ArrayLike | None = None,
        transmission: npt.ArrayLike | None = None,
        pixelscale: Scalar | None = None,
        name: str = "unnamed optic",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, planetype=kwargs.pop("planetype", None))
        kwargs.pop("verbose", None)
        for key in ("oversample", "interp_order"):
            if key in kwargs:
                raise NotImplementedError(
                    f"{type(self).__name__}({key}=): diffract resamples array optics "
                    "bilinearly at the system's sampling"
                )
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments {sorted(kwargs)}")
        self._rotation: float | None = None
        self._opd_in_radians = False
        # Both None for an empty optic, both arrays of one shape otherwise.
        self.amplitude: npt.NDArray[np.float64] | None = (
            None if transmission is None else _array2d(transmission, "transmission")
        )
        self.opd: npt.NDArray[np.float64] | None = None if opd is None else _array2d(opd, "opd")
        self._has_opd = self.opd is not None
        if self.amplitude is None and self.opd is not None:
            self.amplitude = np.ones_like(self.opd)
        if self.opd is None and self.amplitude is not None:
            self.opd = np.zeros_like(self.amplitude)
        self._has_transmission = transmission is not None
        if self.amplitude is not None and (
            self.amplitude.shape != self.opd.shape  # type: ignore[union-attr]
        ):
            raise ValueError(
                f"transmission {self.amplitude.shape} and opd "
                f"{self.opd.shape} must have the same shape"  # type: ignore[union-attr]
            )
        self.pixelscale = pixelscale

    @property
    def shape(self) -> tuple[int, ...] | None:
        """The arrays' shape ``(rows, columns)``, or ``None`` for an empty optic."""
        return None if self.amplitude is None else self.amplitude.shape

    def _check_exact(self, method: str) -> None:
        if self._rotation is not None:
            raise NotImplementedError(
                f"{type(self).__name__}.{method} with rotation={self._rotation}: a rotation "
                "other than a multiple of 90 degrees is applied by the Rust library when "
                "the PSF is computed"
            )

    def get_transmission(self, wave: Length | Wavefront | None = None) -> npt.NDArray[np.float64]:
        """The amplitude transmission array (``wave`` is not used)."""
        self._check_exact("get_transmission")
        return self.amplitude.copy()  # type: ignore[union-attr]  # None: an empty optic

    def get_opd(self, wave: Length | Wavefront | None = None) -> npt.NDArray[np.float64]:
        """The OPD array in metres (an OPD given in radians is converted at the
        wavelength of ``wave``: metres, a Quantity or a wavefront)."""
        self._check_exact("get_opd")
        opd = cast("npt.NDArray[np.float64]", self.opd)  # None for an empty optic
        if self._opd_in_radians:
            return opd * _wavelength(wave) / (2 * math.pi)
        return opd.copy()

    def _pixelscale(self, plane: str, ctx: dict[str, Any] | None) -> float | None:
        if plane == "pupil":
            if self.pixelscale is None:
                scale = ctx.get("pupil_pixelscale") if ctx else None
                if scale is None and ctx is not None:
                    raise ValueError(
                        f"{self.name}: give the array's pixelscale, or the system's "
                        "pupil_diameter (the array then samples the pupil as the system)"
                    )
                return scale
            return _units.scalar(self.pixelscale, "m", "pixelscale")
        if self.pixelscale is None:
            raise ValueError(f"{self.name}: an image-plane array optic needs its pixelscale")
        return _units.scalar(self.pixelscale, "arcsec", "pixelscale")

    def _keys_in(self, plane: str, ctx: dict[str, Any] | None) -> dict[str, Any]:
        if self.amplitude is None:
            raise ValueError(f"{self.name}: give transmission=, opd= or both")
        files = ctx["files"] if ctx else ArrayFiles(None)
        keys = {}
        if self._has_transmission:
            keys["transmission_path"] = files.write(self.amplitude, "transmission")
        if self._has_opd:
            keys["opd_path"] = files.write(self.opd, "opd")  # type: ignore[arg-type]
            keys["opd_unit"] = "rad" if self._opd_in_radians else "m"
        scale = self._pixelscale(plane, ctx)
        if scale is not None:
            keys["pixelscale_m" if plane == "pupil" else "pixelscale_arcsec"] = scale
        if self._rotation is not None:
            keys["rotation_deg"] = self._rotation
        return keys


#: POPPY's OPD units (after lower-casing and dropping a trailing "s"), as the scene's.
_OPD_UNITS = {
    "meter": "m",
    "m": "m",
    "micron": "um",
    "um": "um",
    "micrometer": "um",
    "nanometer": "nm",
    "nm": "nm",
    "radian": "rad",
}
_OPD_SCALE = {"m": 1.0, "um": 1e-6, "nm": 1e-9}


def _read(
    value: Any, index: int | None, what: str
) -> tuple[npt.NDArray[np.float64], fits.Header, str]:
    """``(data, header, description)`` of a file name, an ``HDUList``, or (for the OPD) a
    ``(file name, slice)`` tuple; a cube's slice ``index`` (default 0)."""
    if isinstance(value, (str, os.PathLike)):
        data, header = fits.getdata(value, header=True)
        source = os.fspath(value)
    elif isinstance(value, fits.HDUList):
        data, header = value[0].data, value[0].header.copy()
        source = "fits.HDUList object"
    elif (
        what == "opd"
        and isinstance(value, (tuple, list))
        and len(value) == 2
        and isinstance(value[0], str)
    ):
        data, header = fits.getdata(value[0], header=True)
        data = np.asarray(data)[_units.integer(value[1], "opd slice")]
        source = f"{value[0]}, plane {value[1]}"
    else:
        raise TypeError(f"Not sure how to use a {what} parameter of type {type(value)}")
    data = np.asarray(data, dtype=np.float64)
    if data.ndim > 2:
        data = data[0 if index is None else _units.integer(index, f"{what}_index")]
    return data, header, source


def _find_keyword(keywords: Sequence[str], headers: Sequence[fits.Header | None]) -> float:
    for keyword in keywords:
        for header in headers:
            if header is not None and keyword in header:
                return float(header[keyword])
    raise LookupError(
        f"No FITS header keyword for pixel scale found (tried: {', '.join(keywords)}). "
        "Supply pixelscale as a float in meters/px or arcsec/px, or as a string specifying "
        "which header keyword to use."
    )


class FITSOpticalElement(ArrayOpticalElement):
    """An optic from FITS files (POPPY's ``FITSOpticalElement``): ``transmission`` and/or
    ``opd`` as file names or ``HDUList`` objects (the OPD also as ``(file name, slice)``);
    ``transmission_index``, ``opd_index`` pick a slice of a cube (default 0); ``opdunits``
    "meter", "micron", "nanometer" or "radian" (default the OPD header's ``BUNIT``);
    ``pixelscale`` a float (m/px in pupil planes, arcsec/px in image planes) or the header
    keyword to read it from (default ``PIXELSCL`` or ``PUPLSCAL`` in pupil planes,
    ``PIXELSCL`` or ``PIXSCALE`` in image planes); ``flip_x``, ``flip_y``, then
    ``rotation`` (degrees counter-clockwise), then ``shift_x``, ``shift_y`` (metres,
    rounded to whole pixels) or ``shift`` (fractions of the array), as POPPY applies them.

    As the first optic it sets the system's ``npix`` (its rows) and pupil diameter (rows
    times pixel scale) when the system gives none."""

    def __init__(
        self,
        name: str = "unnamed optic",
        transmission: PathLike | fits.HDUList | None = None,
        opd: PathLike | fits.HDUList | tuple[str, int] | None = None,
        opdunits: str | None = None,
        rotation: Angle | None = None,
        pixelscale: Scalar | str | None = None,
        planetype: PlaneType | None = None,
        transmission_index: int | None = None,
        opd_index: int | None = None,
        shift: tuple[float, float] | None = None,
        shift_x: Length | None = None,
        shift_y: Length | None = None,
        flip_x: bool = False,
        flip_y: bool = False,
        **kwargs: Any,
    ) -> None:
        self.amplitude_header = self.opd_header = None
        self.amplitude_file = self.opd_file = None
        amplitude = opd_data = None
        if transmission is not None:
            amplitude, self.amplitude_header, self.amplitude_file = _read(
                transmission, transmission_index, "transmission"
            )
            if name == "unnamed optic":
                name = "Optic from " + self.amplitude_file
        opd_in_radians = False
        if opd is not None:
            opd_data, self.opd_header, self.opd_file = _read(opd, opd_index, "opd")
            if name == "unnamed optic":
                name = "OPD from " + self.opd_file
            if opdunits is None:
                if "BUNIT" not in self.opd_header:
                    raise ValueError(
                        "No opdunit keyword supplied, and BUNIT keyword not found in header. "
                        "Cannot determine OPD units."
                    )
                opdunits = str(self.opd_header["BUNIT"])
            units = opdunits.lower()
            units = units.removesuffix("s")
            if units not in _OPD_UNITS:
                raise ValueError(
                    f"Got opdunits (or BUNIT header keyword) {opdunits!r}. Valid options are "
                    "meter, micron, nanometer, or radian."
                )
            unit = _OPD_UNITS[units]
            if unit == "rad":
                opd_in_radians = True
            else:
                opd_data = opd_data * _OPD_SCALE[unit]
        super().__init__(
            opd=opd_data, transmission=amplitude, name=name, planetype=planetype, **kwargs
        )
        self._opd_in_radians = opd_in_radians
        if self.amplitude is None:
            self.pixelscale = None
            return
        if self.amplitude.shape[0] != self.amplitude.shape[1]:
            raise ValueError("Pupil amplitude image must be 2-D and square")
        self._pixelscale_arg = pixelscale
        if pixelscale is None or isinstance(pixelscale, str):
            self.pixelscale = None
        else:
            self.pixelscale = pixelscale
        self._transform(flip_x, flip_y, rotation, shift, shift_x, shift_y)

    def _transform(
        self,
        flip_x: bool,
        flip_y: bool,
        rotation: Angle | None,
        shift: tuple[float, float] | None,
        shift_x: Length | None,
        shift_y: Length | None,
    ) -> None:
        # Called for a non-empty optic: both are arrays.
        arrays = cast("list[npt.NDArray[np.float64]]", [self.amplitude, self.opd])
        if flip_y:
            arrays = [a[::-1] for a in arrays]
        if flip_x:
            arrays = [a[:, ::-1] for a in arrays]
        if rotation is not None:
            rotation = _units.scalar(rotation, "deg", "rotation")
            k, remainder = divmod(rotation, 90)
            if remainder == 0:
                arrays = [np.rot90(a, k=-int(k)) for a in arrays]  # negative: counter-clockwise
            else:
                self._rotation = rotation
        if shift is not None and (shift_x is not None or shift_y is not None):
            raise RuntimeError(
                "You cannot specify both the shift and shift_x/shift_y parameters simultaneously."
            )
        roll = None
        if shift_x is not None or shift_y is not None:
            scale = self._pupil_scale("shift_x/shift_y")
            sx = 0.0 if shift_x is None else _units.scalar(shift_x, "m", "shift_x")
            sy = 0.0 if shift_y is None else _units.scalar(shift_y, "m", "shift_y")
            roll = (int(sy / scale), int(sx / scale))
        elif shift is not None:
            if abs(shift[0]) > 0.5 or abs(shift[1]) > 0.5:
                raise ValueError(
                    "You have asked for an implausibly large shift. Remember, shifts should "
                    "be specified as decimal values between -0.5 and 0.5, a fraction of the "
                    "total optic diameter. "
                )
            ny, nx = arrays[0].shape
            roll = (int(np.round(ny * shift[1])), int(np.round(nx * shift[0])))
        if roll is not None and roll != (0, 0):
            if self._rotation is not None:
                raise NotImplementedError(
                    "FITSOpticalElement: a shift after a rotation by other than a multiple "
                    "of 90 degrees"
                )
            arrays = [_shifted(a, roll) for a in arrays]
        self.amplitude, self.opd = (np.ascontiguousarray(a) for a in arrays)

    def _pupil_scale(self, what: str) -> float:
        """The pixel scale in metres known when the optic is made (for shifts)."""
        if self.pixelscale is not None:
            return _units.scalar(self.pixelscale, "m", "pixelscale")
        keywords = (
            (self._pixelscale_arg,)
            if isinstance(self._pixelscale_arg, str)
            else ("PIXELSCL", "PUPLSCAL")
        )
        try:
            return _find_keyword(keywords, (self.amplitude_header, self.opd_header))
        except LookupError as e:
            raise ValueError(f"{what}: {e}") from None

    @property
    def pupil_diam(self) -> Quantity | None:
        """The array's width in metres (rows times the pixel scale), in pupil planes."""
        if self.amplitude is None:
            return None
        return self._pupil_scale("pupil_diam") * self.amplitude.shape[0] * u.m

    def _pixelscale(self, plane: str, ctx: dict[str, Any] | None) -> float | None:
        if self.pixelscale is not None:
            return super()._pixelscale(plane, ctx)
        headers = (self.amplitude_header, self.opd_header)
        if isinstance(self._pixelscale_arg, str):
            return _find_keyword((self._pixelscale_arg,), headers[::-1])
        keywords = ("PIXELSCL", "PUPLSCAL") if plane == "pupil" else ("PIXELSCL", "PIXSCALE")
        try:
            return _find_keyword(keywords, headers)
        except LookupError as e:
            raise ValueError(f"{self.name}: {e}") from None


def _shifted(a: npt.NDArray[np.float64], roll: tuple[int, int]) -> npt.NDArray[np.float64]:
    """``a`` moved by whole pixels ``(rows, columns)``, zeros coming in (scipy's
    ``ndimage.shift`` by whole pixels, as POPPY)."""
    out = np.zeros_like(a)
    dy, dx = roll
    ny, nx = a.shape
    ys, yd = (slice(0, ny - dy), slice(dy, ny)) if dy >= 0 else (slice(-dy, ny), slice(0, ny + dy))
    xs, xd = (slice(0, nx - dx), slice(dx, nx)) if dx >= 0 else (slice(-dx, nx), slice(0, nx + dx))
    out[yd, xd] = a[ys, xs]
    return out
