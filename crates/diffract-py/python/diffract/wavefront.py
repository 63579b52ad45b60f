"""POPPY's ``Wavefront`` and ``PlaneType``: complex fields as numpy arrays with their
wavelength, sampling and plane, as ``calc_psf(return_intermediates=True)``,
``calc_psf(return_final=True)``, ``OpticalSystem.input_wavefront`` and
``OpticalSystem.propagate`` give them."""

from __future__ import annotations

import copy
import enum
from typing import TYPE_CHECKING, Any, cast

import astropy.units as u
import numpy as np
import numpy.typing as npt
from astropy.io import fits

from . import _units
from ._units import Angle, Length, PathLike, Quantity

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from typing_extensions import Self

__all__ = ["PlaneType", "Wavefront"]


class PlaneType(enum.Enum):
    """The kind of plane a wavefront or optic is in (POPPY's values)."""

    unspecified = 0
    pupil = 1
    image = 2
    detector = 3
    rotation = 4
    intermediate = 5
    inversion = 6


class Wavefront:
    """A monochromatic complex field (POPPY's ``Wavefront``): ``wavefront`` (complex
    numpy array), ``wavelength`` (a Quantity in metres), ``pixelscale`` (m/pix in pupil
    planes, arcsec/pix in image planes), ``planetype``, ``location``, ``diam``,
    ``oversample``.

    Made directly it is POPPY's: ``npix x npix`` ones in a pupil of ``diam`` metres, or an
    image plane when ``pixelscale`` (arcsec/pix) is given."""

    def __init__(
        self,
        wavelength: Length = 1e-6,
        npix: int = 1024,
        dtype: npt.DTypeLike | None = None,
        diam: Length = 8.0,
        oversample: int = 2,
        pixelscale: Angle | None = None,
    ) -> None:
        npix = _units.integer(npix, "npix")
        self.wavelength: Quantity = _units.scalar(wavelength, "m", "wavelength") * u.m
        self.diam: Quantity = _units.scalar(diam, "m", "diam") * u.m
        self.oversample = _units.integer(oversample, "oversample")
        self.wavefront: npt.NDArray[np.complexfloating[Any, Any]] = np.ones(
            (npix, npix), dtype=np.complex128 if dtype is None else dtype
        )
        self.pixelscale: Quantity
        self.planetype: PlaneType
        if pixelscale is None:
            self.pixelscale = self.diam / (npix * u.pixel)
            self.planetype = PlaneType.pupil
        else:
            arcsec = _units.scalar(pixelscale, "arcsec", "pixelscale")
            self.pixelscale = arcsec * u.arcsec / u.pixel
            self.planetype = PlaneType.image
        self.ispadded = False
        self.location = "Entrance Pupil"
        self.current_plane_index = 0
        self.history: list[str] = [
            f"Created wavefront: wavelength={self.wavelength:.4g}, diam={self.diam:.4g}"
        ]
        self._npix = npix
        self.z: Quantity | None = None

    @classmethod
    def _of_plane(
        cls,
        plane: dict[str, Any],
        wavelength: float,
        diam: float,
        oversample: int,
        npix: int,
        location: str,
        plane_number: int,
    ) -> Self:
        """A wavefront from a plane of ``compute_psf(keep=...)``."""
        field = plane["field"]
        if field is None:
            raise ValueError(
                f"Wavefronts can only be added if they have the same pixelscale: the "
                f"wavelengths' fields at plane {plane_number} ({plane['kind']}) are sampled "
                "differently (an FFT image plane), so they cannot be summed"
            )
        wf = cls.__new__(cls)
        wf.wavelength = wavelength * u.m
        wf.diam = diam * u.m
        wf.oversample = oversample
        wf.wavefront = field
        if plane["image_plane"]:
            wf.planetype = PlaneType.detector if plane["kind"] == "detector" else PlaneType.image
            wf.pixelscale = plane["pixelscale"] * u.arcsec / u.pixel
        else:
            wf.planetype = PlaneType.pupil
            wf.pixelscale = plane["pixelscale"] * u.m / u.pixel
        wf.ispadded = wf.planetype == PlaneType.pupil and field.shape[0] > npix
        wf.location = location
        wf.current_plane_index = plane_number
        wf.history = [f"Computed by diffract: plane {plane_number} ({plane['kind']})"]
        wf._npix = npix
        wf.z = None if plane["z_m"] is None else plane["z_m"] * u.m
        return wf

    # The field and what follows from it.
    @property
    def amplitude(self) -> npt.NDArray[np.float64]:
        """The field's amplitude."""
        return np.abs(self.wavefront)

    @property
    def intensity(self) -> npt.NDArray[np.float64]:
        """The field's intensity, ``|E|^2``."""
        return np.abs(self.wavefront) ** 2

    @property
    def phase(self) -> npt.NDArray[np.float64]:
        """The field's phase in radians."""
        return np.angle(self.wavefront)

    @property
    def wfe(self) -> Quantity:
        """The wavefront error ``phase * wavelength / 2 pi``, a Quantity in metres."""
        return self.phase * (self.wavelength / (2 * np.pi))

    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape."""
        return self.wavefront.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        """The array's numpy dtype."""
        return self.wavefront.dtype

    @property
    def total_intensity(self) -> float:
        """The intensity summed over the whole array."""
        return float(self.intensity.sum())

    @property
    def fov(self) -> Quantity | None:
        """The array's field of view in arcsec (image planes), else ``None``."""
        if self.planetype == PlaneType.pupil:
            return None
        return self.shape[0] * u.pixel * self.pixelscale

    def coordinates(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """``(y, x)`` arrays of each pixel's position from the array centre, in metres
        (pupil planes) or arcsec (image planes), as ``numpy.indices``."""
        y, x = np.indices(self.shape, dtype=float)
        y -= (self.shape[0] - 1) / 2.0
        x -= (self.shape[1] - 1) / 2.0
        scale = self.pixelscale.value
        return y * scale, x * scale

    def tilt(self, Xangle: Angle = 0.0, Yangle: Angle = 0.0) -> None:
        """Tilts a pupil-plane wavefront by ``Xangle``, ``Yangle`` (arcsec or Quantities):
        the phase ramp that moves the image by those angles on the sky (POPPY's sign
        convention: +Y up)."""
        if self.planetype != PlaneType.pupil:
            raise NotImplementedError("Wavefront.tilt: only pupil-plane wavefronts are tilted")
        x = np.deg2rad(_units.scalar(Xangle, "arcsec", "Xangle") / 3600.0)
        y = np.deg2rad(_units.scalar(Yangle, "arcsec", "Yangle") / 3600.0)
        if x == 0 and y == 0:
            return
        v, u_ = self.coordinates()
        ramp = np.exp(-2j * np.pi * (u_ * x + v * y) / self.wavelength.to_value(u.m))
        self.wavefront = self.wavefront * ramp
        self.history.append(f"Tilted wavefront by X={Xangle}, Y={Yangle} arcsec")

    def normalize(self) -> None:
        """Scales the field to a total intensity of 1 (left as it is when that is 0 or not
        finite)."""
        total = np.sqrt(self.total_intensity)
        if total > 0 and np.isfinite(total):
            self.wavefront = self.wavefront / total

    def copy(self) -> Self:
        """An independent copy."""
        return copy.deepcopy(self)

    def __imul__(self, other: complex) -> Self:
        if not np.isscalar(other):
            raise NotImplementedError(
                "Wavefront *= optic: applying an optic to a wavefront from Python is not "
                "available; add the optic to an OpticalSystem and propagate"
            )
        self.wavefront = self.wavefront * other
        self.history.append(f"Multiplied WF by scalar value {other}")
        return self

    def __mul__(self, other: complex) -> Self:
        new = self.copy()
        new *= other
        return new

    __rmul__ = __mul__

    def __iadd__(self, other: Wavefront) -> Self:
        if not isinstance(other, Wavefront):
            raise ValueError("Wavefronts can only be summed with other Wavefronts")  # noqa: TRY004 (POPPY raises ValueError)
        if self.shape != other.shape:
            raise ValueError(
                f"Wavefronts can only be added if they have the same shape: {self.shape} vs "
                f"{other.shape}"
            )
        try:
            same = np.isclose(
                self.pixelscale.value, other.pixelscale.to_value(self.pixelscale.unit)
            )
        except u.UnitConversionError:
            same = False
        if not same:
            raise ValueError(
                f"Wavefronts can only be added if they have the same pixelscale: "
                f"{self.pixelscale} vs {other.pixelscale}"
            )
        self.wavefront = self.wavefront + other.wavefront
        return self

    def __add__(self, other: Wavefront) -> Self:
        new = self.copy()
        new += other
        return new

    def _unpadded(self, array: npt.NDArray[Any], includepadding: bool) -> npt.NDArray[Any]:
        if not self.ispadded or includepadding:
            return array
        n = self._npix
        o = (array.shape[0] - n) // 2
        return array[o : o + n, o : o + n]

    def as_fits(
        self, what: str = "intensity", includepadding: bool = False, **kwargs: Any
    ) -> fits.HDUList:
        """The wavefront as an ``HDUList`` (POPPY's layout): ``what`` is "intensity",
        "phase", "parts" (amplitude, phase), "all" (intensity, amplitude, phase) or
        "complex" (real, imaginary), a cube for the last three."""
        if kwargs:
            raise TypeError(f"as_fits() got unexpected arguments {sorted(kwargs)}")
        layouts: dict[str, list[tuple[str, npt.NDArray[Any]]]] = {
            "all": [
                ("Wavefront Intensity", self.intensity),
                ("Wavefront Amplitude", self.amplitude),
                ("Wavefront Phase", self.phase),
            ],
            "parts": [("Wavefront Amplitude", self.amplitude), ("Wavefront Phase", self.phase)],
            "intensity": [("Wavefront Intensity", self.intensity)],
            "phase": [("Phase", self.phase)],
            "complex": [
                ("Real part of complex wavefront", self.wavefront.real),
                ("Imaginary part of complex wavefront", self.wavefront.imag),
            ],
        }
        key = what.lower()
        if key not in layouts:
            raise ValueError(f"Unknown string for what to return: {what}")
        planes = [(name, self._unpadded(a, includepadding)) for name, a in layouts[key]]
        data = planes[0][1] if len(planes) == 1 else np.stack([a for _, a in planes])
        hdul = fits.HDUList(fits.PrimaryHDU(np.array(data, dtype=np.float64)))
        header = hdul[0].header
        for i, (name, _) in enumerate(planes):
            header[f"PLANE{i + 1}"] = name
        header["WAVELEN"] = (self.wavelength.to_value(u.m), "Wavelength in meters")
        header["DIFFLMT"] = (
            (self.wavelength / self.diam * u.radian).to_value(u.arcsec),
            "Diffraction limit lambda/D in arcsec",
        )
        header["OVERSAMP"] = (self.oversample, "Oversampling factor for FFTs in computation")
        header["DET_SAMP"] = (self.oversample, "Oversampling factor for MFT to detector plane")
        if self.planetype == PlaneType.pupil:
            header["PIXELSCL"] = (
                self.pixelscale.to_value(u.m / u.pixel),
                "Pixel scale in meters/pixel",
            )
            header["DIAM"] = (
                self.diam.to_value(u.m),
                "Pupil diameter in meters (not incl padding)",
            )
            header["PIXUNIT"] = "meter"
        else:
            header["PIXELSCL"] = (
                self.pixelscale.to_value(u.arcsec / u.pixel),
                "Scale in arcsec/pix (after oversampling)",
            )
            fov = cast("Quantity", self.fov)  # not None: an image plane
            header["FOV"] = (fov.to_value(u.arcsec), "Field of view in arcsec (full array)")
        for line in self.history:
            header.add_history(line)
        return hdul

    def writeto(self, filename: PathLike, overwrite: bool = True, **kwargs: Any) -> None:
        """Writes :meth:`as_fits` (``what=``, ``includepadding=``) to ``filename``."""
        self.as_fits(**kwargs).writeto(filename, overwrite=overwrite)

    def display(
        self, what: str = "intensity", ax: Axes | None = None, colorbar: bool = True, **kwargs: Any
    ) -> Axes:
        """Draws the intensity, amplitude or phase (``what``) with matplotlib, on ``ax`` or
        the current axes; returns the axes. Extent in metres (pupil planes) or arcsec."""
        if kwargs:
            raise NotImplementedError(f"Wavefront.display({', '.join(sorted(kwargs))})")
        try:
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError("Wavefront.display needs matplotlib: pip install matplotlib") from e
        images = {"intensity": self.intensity, "amplitude": self.amplitude, "phase": self.phase}
        if what not in images:
            raise ValueError(f"what must be one of {sorted(images)}, got {what!r}")
        ax = plt.gca() if ax is None else ax
        half_y = self.shape[0] * self.pixelscale.value / 2
        half_x = self.shape[1] * self.pixelscale.value / 2
        artist = ax.imshow(images[what], extent=(-half_x, half_x, -half_y, half_y), origin="lower")
        unit = "m" if self.planetype == PlaneType.pupil else "arcsec"
        ax.set_xlabel(unit)
        ax.set_title(f"{what.capitalize()} {self.location}")
        if colorbar:
            ax.figure.colorbar(artist, ax=ax)
        return ax

    def __str__(self) -> str:
        return (
            f"Wavefront:\n        wavelength = {self.wavelength.to(u.micron)}\n"
            f"        shape = {self.shape}\n        sampling = {self.pixelscale}"
        )

    def __repr__(self) -> str:
        return f"<Wavefront {self.location}: {self.shape}, {self.wavelength.to(u.micron)}>"
