"""POPPY's ``FresnelOpticalSystem``: optics at distances along a Gaussian beam, the scene's
``propagation = "fresnel"`` (docs/scene-format.md, "Fresnel scenes")."""

from __future__ import annotations

import tempfile
from typing import Any, NoReturn

from astropy.io import fits

from . import _toml, _units
from ._units import Angle, Length, Quantity, SourceSpectrum, Values
from .array_optics import ArrayFiles
from .optics import OpticalElement
from .systems import compute_and_return, refuse_unavailable
from .wavefront import PlaneType, Wavefront

__all__ = ["FresnelOpticalSystem"]


class _FresnelDetector:
    """The detector of a Fresnel system: ``pixelscale`` in metres per pixel,
    ``fov_pixels`` across (square), ``distance`` metres after the last optic."""

    def __init__(self, pixelscale: Length, fov_pixels: int | Quantity, distance: Length) -> None:
        self.name = "Detector"
        self.pixelscale = _units.scalar(pixelscale, "m", "pixelscale")
        fov: Any = fov_pixels
        if hasattr(fov, "unit"):
            fov = fov.value
        self.fov_pixels = _units.integer(fov, "fov_pixels")
        self.distance = _units.scalar(distance, "m", "distance")

    def __repr__(self) -> str:
        return f"<Detector: {self.name}>"


class FresnelOpticalSystem:
    """An optical system for Fresnel propagation (POPPY's ``FresnelOpticalSystem``):
    ``pupil_diameter`` (1 m) of the entrance pupil, ``npix`` (1024) samples across it,
    ``beam_ratio`` (0.5) the pupil over the array width. Optics are added with
    ``add_optic(optic, distance=)`` (metres from the previous optic), the detector with
    ``add_detector(pixelscale=, fov_pixels=, distance=)`` (metres per pixel); ``calc_psf``
    as ``OpticalSystem.calc_psf``, normalised after the first optic."""

    def __init__(
        self,
        name: str = "unnamed system",
        pupil_diameter: Length = 1.0,
        npix: int = 1024,
        beam_ratio: float = 0.5,
        verbose: bool = True,
    ) -> None:
        self.name = name
        self.verbose = verbose
        self.pupil_diameter = _units.scalar(pupil_diameter, "m", "pupil_diameter")
        self.npix = _units.integer(npix, "npix")
        self.beam_ratio = _units.scalar(beam_ratio, "", "beam_ratio")
        self.planes: list[OpticalElement | _FresnelDetector] = []
        self.distances: list[float] = []
        self.source_offset_r: Angle = 0
        self.source_offset_theta: Angle = 0

    def __getitem__(self, num: int) -> OpticalElement | _FresnelDetector:
        return self.planes[num]

    def __len__(self) -> int:
        return len(self.planes)

    def add_optic(
        self, optic: OpticalElement | None = None, distance: Length = 0.0, index: int | None = None
    ) -> OpticalElement:
        """Adds ``optic`` ``distance`` metres (or a Quantity) after the previous one and
        returns it."""
        if index is not None:
            raise NotImplementedError("add_optic(index=): optics are appended in order")
        if optic is None:
            from .optics import ScalarTransmission

            optic = ScalarTransmission(name="empty plane")
        if not isinstance(optic, OpticalElement):
            raise NotImplementedError(
                f"add_optic({type(optic).__name__}): only diffract's optic classes can be added"
            )
        if self.planes and isinstance(self.planes[-1], _FresnelDetector):
            raise NotImplementedError("an optic after the detector of a Fresnel system")
        self.planes.append(optic)
        self.distances.append(_units.scalar(distance, "m", "distance"))
        return optic

    def add_detector(
        self, pixelscale: Length = 10e-6, fov_pixels: int | Quantity = 10, distance: Length = 0.0
    ) -> _FresnelDetector:
        """Adds the detector: ``pixelscale`` metres per pixel (10 microns; a Quantity
        such as ``10 * u.micron / u.pixel``), ``fov_pixels`` (10) across, ``distance``
        metres after the last optic; returns it."""
        detector = _FresnelDetector(pixelscale, fov_pixels, distance)
        self.planes.append(detector)
        self.distances.append(detector.distance)
        return detector

    def add_pupil(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError(
            "FresnelOpticalSystem.add_pupil: place optics with add_optic(optic, distance=)"
        )

    add_image = add_pupil

    def _scene(
        self, wavelengths: list[float], weights: list[float] | None, files: ArrayFiles
    ) -> str:
        ctx = {"files": files, "pupil_pixelscale": self.pupil_diameter / self.npix}
        optics, detector = [], None
        for optic, distance in zip(self.planes, self.distances):
            if isinstance(optic, _FresnelDetector):
                detector = {
                    "pixelscale_m": optic.pixelscale,
                    "fov_pixels": optic.fov_pixels,
                    "distance_m": optic.distance,
                }
                continue
            table = optic._scene_table("pupil", ctx)
            del table["plane"]
            table["distance_m"] = distance
            optics.append(table)
        if _units.scalar(self.source_offset_r, "arcsec", "source_offset_r") != 0:
            raise NotImplementedError(
                "FresnelOpticalSystem: an off-axis source (source_offset_r), as POPPY's"
            )
        top = {
            "name": str(self.name),
            "propagation": "fresnel",
            "npix": self.npix,
            "pupil_diameter_m": self.pupil_diameter,
            "beam_ratio": self.beam_ratio,
        }
        source = {"wavelengths_m": wavelengths, "weights": weights}
        return _toml.scene_text(top, source, optics, detector)

    def calc_psf(
        self,
        wavelength: Values = 1e-6,
        weight: Values | None = None,
        save_intermediates: bool = False,
        save_intermediates_what: str = "all",
        display: bool = False,
        return_intermediates: bool = False,
        return_final: bool = False,
        source: SourceSpectrum | None = None,
        normalize: str = "first",
        display_intermediates: bool = False,
        progressbar: bool = False,
        inwave: Wavefront | None = None,
    ) -> fits.HDUList | tuple[fits.HDUList, list[Wavefront]]:
        """Computes the PSF (the intensity on the detector, or over the last plane's array
        without one) at ``wavelength`` (metres or a Quantity; a list with ``weight``, or
        ``source={'wavelengths', 'weights'}``). Returns an astropy ``HDUList``;
        ``PIXELSCL`` is in metres per pixel.

        ``return_intermediates``, ``return_final``, ``save_intermediates``, ``display``
        and ``progressbar`` as for ``OpticalSystem.calc_psf``; the wavefronts' pixel
        scales are in metres and ``z`` gives each one's position along the beam."""
        refuse_unavailable(
            "FresnelOpticalSystem.calc_psf",
            display_intermediates=display_intermediates,
            inwave=inwave is not None,
        )
        if normalize != "first":
            raise NotImplementedError(
                f"FresnelOpticalSystem.calc_psf(normalize={normalize!r}) is not available "
                "from Python yet (Fresnel: 'first' only)"
            )
        wavelengths, weights = _units.spectrum(wavelength, weight, source)
        with tempfile.TemporaryDirectory(prefix="diffract-arrays-") as directory:
            text = self._scene(wavelengths, weights, ArrayFiles(directory))
            return compute_and_return(
                text,
                len(wavelengths),
                lambda planes: [self._wavefront(p, wavelengths[0]) for p in planes],
                return_intermediates=return_intermediates,
                return_final=return_final,
                save_intermediates=save_intermediates,
                save_intermediates_what=save_intermediates_what,
                display=display,
                progressbar=progressbar,
            )

    def _wavefront(self, plane: dict[str, Any], wavelength: float) -> Wavefront:
        """A :class:`Wavefront` of a plane of ``compute_psf(keep=...)``: metres per pixel,
        ``planetype`` intermediate, ``z`` in metres."""
        index = plane["index"]
        name = self.planes[index].name if index < len(self.planes) else "detector"
        wf = Wavefront._of_plane(
            plane,
            wavelength,
            self.pupil_diameter,
            round(1 / self.beam_ratio),
            self.npix,
            f"after {name}",
            index + 1,
        )
        wf.planetype = PlaneType.intermediate
        return wf

    def describe(self) -> str:
        """The scene text of this system at 1 micron, as ``diffract psf`` reads it."""
        return self._scene([1e-6], None, ArrayFiles(None))

    def __repr__(self) -> str:
        return f"<FresnelOpticalSystem: {self.name}>"
