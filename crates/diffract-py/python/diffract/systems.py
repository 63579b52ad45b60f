"""POPPY's ``OpticalSystem`` for Fraunhofer imaging: pupil and image planes, a detector,
``calc_psf`` returning an astropy ``HDUList`` laid out as POPPY's."""

import warnings

import astropy.units as u
import numpy as np
from astropy.io import fits

from . import _diffract, _toml, _units
from .optics import OpticalElement

__all__ = ["Detector", "OpticalSystem"]


class Detector:
    """The detector (POPPY's ``Detector``): ``pixelscale`` in arcsec per pixel, the field
    as ``fov_pixels`` or ``fov_arcsec`` (a number, or ``(y, x)``), ``oversample`` (must be
    the system's), ``offset`` ``(y, x)`` in computed pixels as POPPY 1.1.2 applies it."""

    def __init__(
        self,
        pixelscale=1.0,
        fov_pixels=None,
        fov_arcsec=None,
        oversample=1,
        name="Detector",
        offset=None,
    ):
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

    def _scene_table(self):
        return {
            "pixelscale_arcsec": self.pixelscale,
            "fov_pixels": self.fov_pixels,
            "fov_arcsec": self.fov_arcsec,
            "offset_pixels": self.offset,
        }

    def __repr__(self):
        return f"<Detector: {self.name}>"


def _fov(value, unit, name):
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
        self, name="unnamed system", verbose=True, oversample=2, npix=None, pupil_diameter=None
    ):
        self.name = name
        self.verbose = verbose
        self.oversample = _units.integer(oversample, "oversample")
        self.npix = None if npix is None else _units.integer(npix, "npix")
        self.pupil_diameter = _units.optional_scalar(pupil_diameter, "m", "pupil_diameter")
        self.planes = []
        self._plane_kinds = []
        self.source_offset_r = 0  # arcsec
        self.source_offset_theta = 0  # degrees counter-clockwise from +Y

    def __getitem__(self, num):
        return self.planes[num]

    def __len__(self):
        return len(self.planes)

    def _add(self, plane, optic, function, index, kwargs):
        method = f"add_{plane}"
        if function is not None or kwargs:
            raise NotImplementedError(
                f"{method}(function=..., transmission=/opd= files): optics from names or "
                "FITS files are not available from Python yet; pass an optic object"
            )
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

    def add_pupil(self, optic=None, function=None, index=None, **kwargs):
        """Adds a pupil-plane optic and returns it."""
        return self._add("pupil", optic, function, index, kwargs)

    def add_image(self, optic=None, function=None, index=None, **kwargs):
        """Adds an image-plane optic and returns it."""
        return self._add("image", optic, function, index, kwargs)

    def add_detector(self, pixelscale, oversample=None, index=None, **kwargs):
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

    def _scene(self, wavelengths, weights, normalize):
        """The system and spectrum as scene text (docs/scene-format.md)."""
        optics, detector = [], None
        for plane, optic in zip(self._plane_kinds, self.planes):
            if detector is not None:
                raise NotImplementedError(
                    "an optic after the detector: detectors in mid-system are not "
                    "available from Python yet"
                )
            if plane == "detector":
                detector = optic._scene_table()
            else:
                optics.append(optic._scene_table(plane))
        pupil_diameter = self.pupil_diameter
        if pupil_diameter is None and self.planes and self._plane_kinds[0] == "pupil":
            pupil_diameter = self.planes[0]._pupil_diameter()
        top = {
            "name": str(self.name),
            "npix": self.npix,
            "pupil_diameter_m": pupil_diameter,
            "oversample": self.oversample,
            "normalize": normalize,
        }
        source = {"wavelengths_m": wavelengths, "weights": weights}
        offset_r = _units.scalar(self.source_offset_r, "arcsec", "source_offset_r")
        if offset_r != 0:
            source["offset_r_arcsec"] = offset_r
            source["offset_theta_deg"] = _units.scalar(
                self.source_offset_theta, "deg", "source_offset_theta"
            )
        return _toml.scene_text(top, source, optics, detector)

    def calc_psf(
        self,
        wavelength=1e-6,
        weight=None,
        save_intermediates=False,
        save_intermediates_what="all",
        display=False,
        return_intermediates=False,
        return_final=False,
        source=None,
        normalize="first",
        display_intermediates=False,
        progressbar=False,
        inwave=None,
    ):
        """Computes the PSF: monochromatic at ``wavelength`` (metres or a Quantity), or the
        weighted sum over a list of wavelengths with ``weight`` (normalised to sum 1), or
        over ``source={'wavelengths': ..., 'weights': ...}``. ``normalize`` is "first",
        "last", "exit_pupil" or "none", as POPPY's.

        Returns an astropy ``HDUList``: the oversampled PSF in the primary HDU (``EXTNAME =
        'OVERSAMP'``) and the detector-sampled PSF in extension ``DET_SAMP``, with POPPY's
        header keywords (``WAVELEN``, ``PIXELSCL``, ``OVERSAMP``, ``NWAVES``, ``WAVEn``,
        ``WGHTn``, ...). Bad input raises ``ValueError`` with the command line's message.
        """
        for flag, what in (
            (save_intermediates, "save_intermediates"),
            (return_intermediates, "return_intermediates (the intermediate wavefronts)"),
            (return_final, "return_final (the final complex wavefront)"),
            (display, "display"),
            (display_intermediates, "display_intermediates"),
            (progressbar, "progressbar"),
            (inwave is not None, "inwave (an input wavefront)"),
        ):
            if flag:
                raise NotImplementedError(f"calc_psf({what}) is not available from Python yet")
        if source is not None:
            wavelength = source["wavelengths"]
            weight = source["weights"]
        wavelengths = _units.array(wavelength, "m", "wavelength")
        weights = None if weight is None else _units.array(weight, "", "weight")
        text = self._scene(wavelengths, weights, normalize)
        over, det, primary_cards, det_cards = _diffract.compute_psf(text)
        primary = fits.PrimaryHDU(over)
        det_hdu = fits.ImageHDU(det, name="DET_SAMP")
        with warnings.catch_warnings():
            # Long comments are cut to the card, as cfitsio cuts them in diffract's files.
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            for hdu, cards in ((primary, primary_cards), (det_hdu, det_cards)):
                for key, value, comment in cards:
                    hdu.header[key] = value if comment is None else (value, comment)
        return fits.HDUList([primary, det_hdu])

    def to_toml(self, wavelength=1e-6, weight=None, source=None, normalize="first"):
        """The system as scene text (docs/scene-format.md) with the spectrum ``calc_psf``
        would take (``wavelength``, ``weight`` or ``source``, ``normalize``): save it and
        ``diffract psf`` (or ``diffract.load_scene``) computes the same PSF, bit for bit."""
        if source is not None:
            wavelength = source["wavelengths"]
            weight = source["weights"]
        wavelengths = _units.array(wavelength, "m", "wavelength")
        weights = None if weight is None else _units.array(weight, "", "weight")
        return self._scene(wavelengths, weights, normalize)

    def describe(self):
        """The scene text of this system at 1 micron, as ``diffract psf`` reads it."""
        return self._scene([1e-6], None, "first")

    def __repr__(self):
        return f"<OpticalSystem: {self.name}>"
