"""POPPY's ``OpticalSystem`` for Fraunhofer imaging: pupil and image planes, a detector,
``calc_psf`` returning an astropy ``HDUList`` laid out as POPPY's."""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from typing import TYPE_CHECKING, Any, Callable, Literal, cast

import astropy.units as u
import numpy as np
from astropy.io import fits

from . import _diffract, _toml, _units
from ._conf import conf
from ._units import Angle, Length, PathLike, SourceSpectrum, Values
from .array_optics import ArrayFiles
from .optics import OpticalElement
from .wavefront import PlaneType, Wavefront

if TYPE_CHECKING:
    from ._diffract import _Card, _Image, _Plane

    #: ``compute_psf``'s result: the oversampled and detector images, their header cards,
    #: the planes kept.
    PsfParts = tuple[_Image, _Image, list[_Card], list[_Card], list[_Plane]]

__all__ = ["Detector", "MatrixFTCoronagraph", "OpticalSystem", "SemiAnalyticCoronagraph"]


class Detector:
    """The detector (POPPY's ``Detector``): ``pixelscale`` in arcsec per pixel, the field
    as ``fov_pixels`` or ``fov_arcsec`` (a number, or ``(y, x)``), ``oversample`` (must be
    the system's), ``offset`` ``(y, x)`` in computed pixels as POPPY 1.1.2 applies it."""

    def __init__(
        self,
        pixelscale: Angle = 1.0,
        fov_pixels: int | Values | None = None,
        fov_arcsec: Angle | Values | None = None,
        oversample: int = 1,
        name: str = "Detector",
        offset: Values | None = None,
    ) -> None:
        self.name = name
        self.pixelscale = _units.scalar(pixelscale, "arcsec", "pixelscale")
        if fov_pixels is None and fov_arcsec is None:
            raise ValueError("Either fov_pixels or fov_arcsec must be specified!")
        self.fov_pixels = None if fov_pixels is None else _fov(fov_pixels, None, "fov_pixels")
        self.fov_arcsec = (
            None
            if fov_pixels is not None or fov_arcsec is None
            else _fov(fov_arcsec, "arcsec", "fov_arcsec")
        )
        self.oversample = _units.integer(oversample, "oversample")
        self.offset = None if offset is None else _units.array(offset, "", "offset")

    def _scene_table(self) -> dict[str, Any]:
        return {
            "pixelscale_arcsec": self.pixelscale,
            "fov_pixels": self.fov_pixels,
            "fov_arcsec": self.fov_arcsec,
            "offset_pixels": self.offset,
        }

    def __repr__(self) -> str:
        return f"<Detector: {self.name}>"


def _fov(value: Any, unit: str | None, name: str) -> Any:
    """A field of view: one number (square) or ``(y, x)``; pixels may be a Quantity in
    ``u.pixel``."""
    if unit is None and isinstance(value, u.Quantity):
        value = list(np.atleast_1d(value.to_value(u.pixel)))
    if unit is None:
        values = value if isinstance(value, (list, tuple)) else [value]
        values = [_units.integer(v, name) for v in values]
    else:
        values = _units.array(value, unit, name)
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return values
    raise ValueError(f"{name} must be one number or (y, x), got {value!r}")


class OpticalSystem:
    """An optical system for Fraunhofer propagation (POPPY's ``OpticalSystem``).

    ``oversample`` pads the FFTs and samples the detector; ``npix`` samples across the
    pupil (default 1024); ``pupil_diameter`` (metres) the width of the pupil array
    (default: the first optic's size). Optics are added in the order of the light path."""

    def __init__(
        self,
        name: str = "unnamed system",
        verbose: bool = True,
        oversample: int = 2,
        npix: int | None = None,
        pupil_diameter: Length | None = None,
    ) -> None:
        self.name = name
        self.verbose = verbose
        self.oversample = _units.integer(oversample, "oversample")
        self.npix = None if npix is None else _units.integer(npix, "npix")
        self.pupil_diameter = _units.optional_scalar(pupil_diameter, "m", "pupil_diameter")
        self.planes: list[OpticalElement | Detector] = []
        self._plane_kinds: list[str] = []
        self.source_offset_r: Angle = 0  # arcsec
        self.source_offset_theta: Angle = 0  # degrees counter-clockwise from +Y

    def __getitem__(self, num: int) -> OpticalElement | Detector:
        return self.planes[num]

    def __len__(self) -> int:
        return len(self.planes)

    def _add(
        self,
        plane: str,
        optic: OpticalElement | None,
        function: object,
        index: int | None,
        kwargs: dict[str, Any],
    ) -> OpticalElement:
        method = f"add_{plane}"
        if function is not None:
            raise NotImplementedError(
                f"{method}(function=...): optics named by strings are not available from "
                "Python; pass an optic object"
            )
        if optic is None and kwargs:
            # POPPY: the keyword arguments describe a FITSOpticalElement.
            from .array_optics import FITSOpticalElement

            optic = FITSOpticalElement(**kwargs)
        elif kwargs:
            raise TypeError(f"{method}() got unexpected arguments {sorted(kwargs)}")
        if index is not None:
            raise NotImplementedError(f"{method}(index=): optics are appended in order")
        if optic is None:
            from .optics import ScalarTransmission

            optic = ScalarTransmission(name=f"empty {plane} plane")
        if not isinstance(optic, OpticalElement):
            raise NotImplementedError(
                f"{method}({type(optic).__name__}): only diffract's optic classes can be "
                "added (POPPY's own objects and subclasses with Python get_opd / "
                "get_transmission are not supported)"
            )
        self.planes.append(optic)
        self._plane_kinds.append(plane)
        return optic

    def add_pupil(
        self,
        optic: OpticalElement | None = None,
        function: object = None,
        index: int | None = None,
        **kwargs: Any,
    ) -> OpticalElement:
        """Adds a pupil-plane optic and returns it; without one, the keyword arguments
        (``transmission=``, ``opd=``, ...) make a ``FITSOpticalElement``, as POPPY's."""
        return self._add("pupil", optic, function, index, kwargs)

    def add_image(
        self,
        optic: OpticalElement | None = None,
        function: object = None,
        index: int | None = None,
        **kwargs: Any,
    ) -> OpticalElement:
        """Adds an image-plane optic and returns it; without one, the keyword arguments
        make a ``FITSOpticalElement``, as POPPY's."""
        return self._add("image", optic, function, index, kwargs)

    def add_detector(
        self,
        pixelscale: Angle,
        oversample: int | None = None,
        index: int | None = None,
        **kwargs: Any,
    ) -> Detector:
        """Adds the detector (``pixelscale`` in arcsec per pixel; ``fov_pixels`` or
        ``fov_arcsec``; ``offset``) and returns it. Its ``oversample`` defaults to the
        system's; a different one is not supported."""
        if index is not None:
            raise NotImplementedError("add_detector(index=): the detector is the last plane")
        if oversample is None:
            oversample = self.oversample
        detector = Detector(pixelscale, oversample=oversample, **kwargs)
        if detector.oversample != self.oversample:
            raise NotImplementedError(
                f"add_detector(oversample={detector.oversample}): a detector oversampling "
                f"different from the system's ({self.oversample})"
            )
        self.planes.append(detector)
        self._plane_kinds.append("detector")
        return detector

    def _pupil_pixelscale(self, pupil_diameter: float | None) -> float | None:
        """Metres per pupil pixel when the system's pupil is known before the first optic
        is read, else ``None`` (an array optic without a pixel scale samples the pupil
        as the system)."""
        if pupil_diameter is None:
            return None
        npix = self.npix
        if npix is None and self.planes:
            shape = getattr(self.planes[0], "shape", None)
            npix = shape[0] if shape is not None else None
        return pupil_diameter / (1024 if npix is None else npix)

    def _scene(
        self,
        wavelengths: list[float],
        weights: list[float] | None,
        normalize: str,
        files: ArrayFiles,
    ) -> str:
        """The system and spectrum as scene text (docs/scene-format.md); optics from
        arrays write them with ``files`` (an ``ArrayFiles``)."""
        pupil_diameter = self.pupil_diameter
        if pupil_diameter is None and self.planes and self._plane_kinds[0] == "pupil":
            pupil_diameter = cast(OpticalElement, self.planes[0])._pupil_diameter()
        ctx = {"files": files, "pupil_pixelscale": self._pupil_pixelscale(pupil_diameter)}
        optics, detector = [], None
        for plane, optic in zip(self._plane_kinds, self.planes):
            if detector is not None:
                raise NotImplementedError(
                    "an optic after the detector: detectors in mid-system are not "
                    "available from Python yet"
                )
            if plane == "detector":
                detector = cast(Detector, optic)._scene_table()
            else:
                optics.append(cast(OpticalElement, optic)._scene_table(plane, ctx))
        top = {
            "name": str(self.name),
            "npix": self.npix,
            "pupil_diameter_m": pupil_diameter,
            "oversample": self.oversample,
            "normalize": normalize,
        }
        source: dict[str, Any] = {"wavelengths_m": wavelengths, "weights": weights}
        offset_r = _units.scalar(self.source_offset_r, "arcsec", "source_offset_r")
        if offset_r != 0:
            source["offset_r_arcsec"] = offset_r
            source["offset_theta_deg"] = _units.scalar(
                self.source_offset_theta, "deg", "source_offset_theta"
            )
        return _toml.scene_text(top, source, optics, detector, self._coronagraph())

    def _coronagraph(self) -> dict[str, Any] | None:
        """The scene's ``[coronagraph]`` table, or ``None`` (plain FFTs)."""
        return None

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
        """Computes the PSF: monochromatic at ``wavelength`` (metres or a Quantity), or the
        weighted sum over a list of wavelengths with ``weight`` (normalised to sum 1), or
        over ``source={'wavelengths': ..., 'weights': ...}``. ``normalize`` is "first",
        "last", "exit_pupil" or "none", as POPPY's.

        Returns an astropy ``HDUList``: the oversampled PSF in the primary HDU (``EXTNAME =
        'OVERSAMP'``) and the detector-sampled PSF in extension ``DET_SAMP``, with POPPY's
        header keywords (``WAVELEN``, ``PIXELSCL``, ``OVERSAMP``, ``NWAVES``, ``WAVEn``,
        ``WGHTn``, ...). Bad input raises ``ValueError`` with the command line's message.

        ``return_intermediates=True`` also returns the list of :class:`Wavefront` after
        every plane (the system computed plane by plane; for several wavelengths the
        fields weighted and summed, as POPPY's); ``return_final=True`` the final wavefront
        alone, in a list. ``save_intermediates`` writes them as
        ``wavefront_plane_NNN.fits`` (``save_intermediates_what``). ``display`` draws the
        PSF with :func:`display_psf`; ``progressbar`` shows the wavelengths done (tqdm when
        installed, else a line on stderr).
        """
        refuse_unavailable(
            "calc_psf",
            display_intermediates=display_intermediates,
            inwave=inwave is not None,
        )
        wavelengths, weights = _units.spectrum(wavelength, weight, source)
        with tempfile.TemporaryDirectory(prefix="diffract-arrays-") as directory:
            text = self._scene(wavelengths, weights, normalize, ArrayFiles(directory))
            return compute_and_return(
                text,
                len(wavelengths),
                lambda planes: self._wavefronts(text, planes, wavelengths[0]),
                return_intermediates=return_intermediates,
                return_final=return_final,
                save_intermediates=save_intermediates,
                save_intermediates_what=save_intermediates_what,
                display=display,
                progressbar=progressbar,
            )

    def _wavefronts(
        self, text: str, planes: list[dict[str, Any]], wavelength: float
    ) -> list[Wavefront]:
        """:class:`Wavefront` objects of ``compute_psf``'s or ``propagate``'s planes."""
        npix, diameter, oversample = _diffract.entrance(text)
        wavefronts = []
        for plane in planes:
            index = plane["index"]
            name = self.planes[index].name if index < len(self.planes) else "detector"
            wavefronts.append(
                Wavefront._of_plane(
                    plane, wavelength, diameter, oversample, npix, f"after {name}", index + 1
                )
            )
        return wavefronts

    def input_wavefront(
        self, wavelength: Length = 1e-6, inwave: Wavefront | None = None
    ) -> Wavefront:
        """The wavefront entering the system (POPPY's): ones over the entrance pupil's
        ``npix x npix`` samples, tilted for ``source_offset_r`` / ``source_offset_theta``;
        ``inwave`` (a :class:`Wavefront`) is returned as it is."""
        if inwave is not None:
            if not isinstance(inwave, Wavefront):
                raise ValueError(
                    "Input wavefront must be a Wavefront() object or None, when using "
                    "OpticalSystem()."
                )
            return inwave
        wavelength = _units.scalar(wavelength, "m", "wavelength")
        with tempfile.TemporaryDirectory(prefix="diffract-arrays-") as directory:
            text = self._scene([wavelength], None, "none", ArrayFiles(directory))
            npix, diameter, oversample = _diffract.entrance(text)
        wf = Wavefront(wavelength=wavelength, npix=npix, diam=diameter, oversample=oversample)
        offset_r = _units.scalar(self.source_offset_r, "arcsec", "source_offset_r")
        if offset_r != 0:
            theta = np.deg2rad(
                _units.scalar(self.source_offset_theta, "deg", "source_offset_theta")
            )
            wf.tilt(Xangle=-offset_r * np.sin(theta), Yangle=offset_r * np.cos(theta))
        return wf

    def propagate(
        self,
        wavefront: Wavefront,
        normalize: str = "none",
        return_intermediates: bool = False,
        display_intermediates: bool = False,
    ) -> Wavefront | tuple[Wavefront, list[Wavefront]]:
        """Propagates ``wavefront`` (a pupil-plane :class:`Wavefront` on the system's
        entrance grid, as :meth:`input_wavefront` makes) through every plane (POPPY's
        ``OpticalSystem.propagate``), returning the final :class:`Wavefront`, and with
        ``return_intermediates`` also the list after every plane. ``normalize``: "none"
        (the field as given), "first", "last" or "exit_pupil"."""
        refuse_unavailable("propagate", display_intermediates=display_intermediates)
        if not isinstance(wavefront, Wavefront):
            raise ValueError("First argument to propagate must be a Wavefront.")  # noqa: TRY004 (POPPY raises ValueError)
        if wavefront.planetype != PlaneType.pupil:
            raise ValueError("propagate takes a pupil-plane wavefront (the system's entrance)")
        mode = str(normalize).lower()
        wavelength = float(wavefront.wavelength.to_value(u.m))
        with tempfile.TemporaryDirectory(prefix="diffract-arrays-") as directory:
            scene_mode = "none" if mode == "first" else mode
            text = self._scene([wavelength], None, scene_mode, ArrayFiles(directory))
            planes = _diffract.propagate(
                text,
                np.ascontiguousarray(wavefront.wavefront, dtype=np.complex128),
                wavelength,
                wavefront.pixelscale.to_value(u.m / u.pixel),
                intermediates=return_intermediates or mode == "first",
                precision=conf.precision,
            )
            wavefronts = self._wavefronts(text, planes, wavelength)
        if mode == "first":
            # The system is linear: normalising after the first plane scales every plane.
            scale = 1.0 / np.sqrt(wavefronts[0].total_intensity)
            for wf in wavefronts:
                wf.wavefront = wf.wavefront * scale
        if return_intermediates:
            return wavefronts[-1], wavefronts
        return wavefronts[-1]

    def to_toml(
        self,
        wavelength: Values = 1e-6,
        weight: Values | None = None,
        source: SourceSpectrum | None = None,
        normalize: str = "first",
        array_dir: PathLike | None = None,
    ) -> str:
        """The system as scene text (docs/scene-format.md) with the spectrum ``calc_psf``
        would take (``wavelength``, ``weight`` or ``source``, ``normalize``): save it and
        ``diffract psf`` (or ``diffract.load_scene``) computes the same PSF, bit for bit.

        Optics from arrays (``ArrayOpticalElement``, ``add_pupil(transmission=array)``) are
        written as FITS files into the existing folder ``array_dir``, which the scene names
        by absolute path; without ``array_dir`` such a system raises ``ValueError``."""
        wavelengths, weights = _units.spectrum(wavelength, weight, source)
        directory = None if array_dir is None else os.path.abspath(os.fspath(array_dir))
        files = ArrayFiles(directory)
        text = self._scene(wavelengths, weights, normalize, files)
        if directory is None and files.count:
            raise ValueError(
                "the system has optics from arrays: give to_toml(array_dir=...) a folder to "
                "write them into as FITS files"
            )
        return text

    def describe(self) -> str:
        """The scene text of this system at 1 micron, as ``diffract psf`` reads it (optics
        from arrays name placeholders for the files ``calc_psf`` writes)."""
        return self._scene([1e-6], None, "first", ArrayFiles(None))

    def __repr__(self) -> str:
        return f"<OpticalSystem: {self.name}>"


# What each of calc_psf's arguments that diffract does not offer from Python would give.
_UNAVAILABLE = {
    "inwave": "inwave (an input wavefront; use propagate(wavefront))",
    "display_intermediates": "display_intermediates (drawing every plane while computing)",
}


def refuse_unavailable(where: str, **flags: bool) -> None:
    """Raises ``NotImplementedError`` naming the first of ``flags`` (argument name: whether
    it was asked for) that is set."""
    for name, asked in flags.items():
        if asked:
            what = _UNAVAILABLE.get(name, name)
            raise NotImplementedError(f"{where}({what}) is not available from Python yet")


def compute_and_return(
    text: str,
    nwaves: int,
    to_wavefronts: Callable[[list[Any]], list[Wavefront]],
    *,
    return_intermediates: bool,
    return_final: bool,
    save_intermediates: bool,
    save_intermediates_what: str,
    display: bool,
    progressbar: bool,
) -> fits.HDUList | tuple[fits.HDUList, list[Wavefront]]:
    """What ``calc_psf`` does with scene ``text`` of ``nwaves`` wavelengths once the system
    is written (both system kinds): computes it (keeping the wavefronts
    ``return_intermediates``, ``return_final`` or ``save_intermediates`` ask for, made by
    ``to_wavefronts`` from the extension's planes), saves and draws as asked, and returns
    POPPY's ``HDUList`` (with the wavefronts when asked)."""
    keep = None
    if return_intermediates or save_intermediates:
        keep = "intermediates"
    elif return_final:
        keep = "final"
    with progress_bar(progressbar, nwaves) as tick:
        parts = _diffract.compute_psf(text, keep=keep, progress=tick, precision=conf.precision)
    hdulist = hdulist_of(parts)
    wavefronts = to_wavefronts(parts[4]) if keep else []
    if save_intermediates:
        for i, wf in enumerate(wavefronts):
            wf.writeto(f"wavefront_plane_{i:03d}.fits", what=save_intermediates_what)
    if display:
        from .display import display_psf

        display_psf(hdulist)
    if return_intermediates or return_final:
        return hdulist, wavefronts if return_intermediates else wavefronts[-1:]
    return hdulist


class progress_bar:
    """A context giving ``compute_psf``'s ``progress`` callback: a tqdm bar over ``total``
    ``what`` (wavelengths, points) when ``enabled`` and tqdm is installed, else a line on
    stderr per one done; ``None`` when not ``enabled``."""

    def __init__(self, enabled: bool, total: int, what: str = "wavelengths") -> None:
        self._enabled = bool(enabled)
        self._total = total
        self._what = what
        self._bar: Any = None
        self._done = 0

    def __enter__(self) -> Callable[[], None] | None:
        if not self._enabled:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        if tqdm is not None:
            self._bar = tqdm(total=self._total, desc=self._what)
        return self._tick

    def _tick(self) -> None:
        self._done += 1
        if self._bar is not None:
            self._bar.update(1)
        else:
            sys.stderr.write(f"\rdiffract: {self._done}/{self._total} {self._what}")
            if self._done == self._total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    def __exit__(self, *exc: object) -> Literal[False]:
        if self._bar is not None:
            self._bar.close()
        return False


def hdulist_of(parts: PsfParts) -> fits.HDUList:
    """The ``HDUList`` of ``compute_psf``'s arrays and header cards, laid out as POPPY's
    (``DET_SAMP`` only when the computation has one)."""
    over, det, primary_cards, det_cards = parts[:4]
    hdus = [(fits.PrimaryHDU(over), primary_cards)]
    if det_cards:
        hdus.append((fits.ImageHDU(det, name="DET_SAMP"), det_cards))
    with warnings.catch_warnings():
        # Long comments are cut to the card, as cfitsio cuts them in diffract's files.
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        for hdu, cards in hdus:
            for key, value, comment in cards:
                hdu.header[key] = value if comment is None else (value, comment)
    return fits.HDUList([hdu for hdu, _ in hdus])


class _CoronagraphSystem(OpticalSystem):
    """An existing system computed with matrix Fourier transforms onto a small
    image-plane box (the scene's ``[coronagraph]``)."""

    _method: str | None = None

    def __init__(
        self,
        existing_optical_system: OpticalSystem,
        oversample: int,
        occulter_box: Angle,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments {sorted(kwargs)}")
        system = existing_optical_system
        super().__init__(
            name=f"{type(self).__name__} for {system.name}",
            verbose=system.verbose,
            oversample=system.oversample,
            npix=system.npix,
            pupil_diameter=system.pupil_diameter,
        )
        self.planes = system.planes
        self._plane_kinds = system._plane_kinds
        self.source_offset_r = system.source_offset_r
        self.source_offset_theta = system.source_offset_theta
        self.box_oversample = _units.integer(oversample, "oversample")
        if not np.isscalar(occulter_box) and not isinstance(occulter_box, u.Quantity):
            raise NotImplementedError(
                f"{type(self).__name__}(occulter_box=(y, x)): diffract's box is square"
            )
        self.occulter_box = _units.scalar(occulter_box, "arcsec", "occulter_box")

    def _coronagraph(self) -> dict[str, Any]:
        return {
            "method": self._method,
            "occulter_box_arcsec": self.occulter_box,
            "oversample": self.box_oversample,
        }


class SemiAnalyticCoronagraph(_CoronagraphSystem):
    """POPPY's ``SemiAnalyticCoronagraph``: an existing Lyot system (pupil, occulter in
    an image plane, Lyot stop, detector) computed by Soummer et al.'s semi-analytic
    method: ``oversample`` (8) samples the occulter box (detector pixel / oversample),
    ``occulter_box`` (1 arcsec) its half-size, ``fpm_index`` (1) the occulter's plane,
    the Lyot stop the plane after it."""

    _method = "semi_analytic"

    def __init__(
        self,
        existing_optical_system: OpticalSystem,
        oversample: int = 8,
        occulter_box: Angle = 1.0,
        fpm_index: int = 1,
        **kwargs: Any,
    ) -> None:
        kinds = existing_optical_system._plane_kinds
        fpm_index = _units.integer(fpm_index, "fpm_index")
        if not (
            0 <= fpm_index < len(kinds) - 2
            and kinds[fpm_index] == "image"
            and kinds[fpm_index + 1] == "pupil"
            and kinds[-1] == "detector"
        ):
            raise ValueError(
                f"Plane {fpm_index} is not of the right type for a semianalytic coronagraph "
                "calculation: the occulter must be an image plane, followed by the Lyot "
                "pupil, with the detector last"
            )
        self.fpm_index = fpm_index
        super().__init__(existing_optical_system, oversample, occulter_box, **kwargs)
        self.occulter = self.planes[fpm_index]
        self.lyotplane = self.planes[fpm_index + 1]
        self.detector = self.planes[-1]


class MatrixFTCoronagraph(_CoronagraphSystem):
    """POPPY's ``MatrixFTCoronagraph``: an existing system whose image-plane optics
    transmit only inside a box, computed by matrix Fourier transforms: ``oversample``
    (4; the box sampled at lambda / (2 D oversample)), ``occulter_box`` (1 arcsec) the
    box's half-size."""

    _method = "matrix_ft"

    def __init__(
        self,
        existing_optical_system: OpticalSystem,
        oversample: int = 4,
        occulter_box: Angle = 1.0,
        **kwargs: Any,
    ) -> None:
        if len(existing_optical_system.planes) < 4:
            raise ValueError(
                "Input optical system must have at least 4 planes to be convertible into a "
                "MatrixFTCoronagraph"
            )
        super().__init__(existing_optical_system, oversample, occulter_box, **kwargs)
