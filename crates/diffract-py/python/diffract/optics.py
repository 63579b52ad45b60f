"""Optics with POPPY's class names, arguments, defaults and units.

Each optic holds its parameters, converted to diffract's units (metres, arcseconds,
degrees) when it is made, and describes itself as one ``[[optic]]`` table of a scene
(docs/scene-format.md); the Rust library samples it. Floats are in POPPY's default units,
astropy Quantities are converted.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from typing import Any

import astropy.units as u
import numpy as np
import numpy.typing as npt

from . import _diffract, _toml, _units
from ._units import Angle, Length, Scalar, Values
from .wavefront import PlaneType, Wavefront

__all__ = [
    "AnalyticOpticalElement",
    "AnnularFieldStop",
    "AsymmetricSecondaryObscuration",
    "BandLimitedCoronagraph",
    "BarOcculter",
    "CircularAperture",
    "CircularOcculter",
    "CircularPhaseMask",
    "CompoundAnalyticOptic",
    "FQPM_FFT_aligner",
    "GaussianAperture",
    "HexagonAperture",
    "IdealFQPM",
    "InverseTransmission",
    "KeystoneSegmentedCircularAperture",
    "KnifeEdge",
    "MultiCircularAperture",
    "MultiHexagonAperture",
    "NgonAperture",
    "OpticalElement",
    "QuadraticLens",
    "RectangleAperture",
    "RectangularFieldStop",
    "ScalarOpticalPathDifference",
    "ScalarTransmission",
    "SecondaryObscuration",
    "SquareAperture",
    "SquareFieldStop",
    "ThinLens",
    "TipTiltStage",
    "ZernikeWFE",
]


class OpticalElement:
    """Base of diffract's optics (POPPY's ``OpticalElement``). Not made directly."""

    #: The scene kind (docs/scene-format.md).
    _kind: str | None = None
    #: The planes the optic may sit in.
    _planes: tuple[str, ...] = ("pupil",)

    def __init__(self, name: str | None = None, planetype: PlaneType | None = None) -> None:
        self.name = name if name is not None else type(self).__name__
        # POPPY's planetype is set by add_pupil / add_image here; it is accepted and kept.
        self.planetype = planetype

    def _keys(self, plane: str) -> dict[str, Any]:
        """The optic's own scene keys (without ``plane`` and ``kind``)."""
        raise NotImplementedError

    def _keys_in(self, plane: str, ctx: dict[str, Any] | None) -> dict[str, Any]:
        """The optic's own scene keys in a system: ``ctx`` holds what optics from arrays
        need (``files``, where they write their arrays, and ``pupil_pixelscale``)."""
        return self._keys(plane)

    def _scene_table(self, plane: str, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
        """The optic as one ``[[optic]]`` table in ``plane`` ("pupil" or "image")."""
        table = {"plane": plane, "kind": self._kind}
        table.update(self._keys_in(plane, ctx))
        return table

    def _pupil_diameter(self) -> float | None:
        """The pupil diameter this optic sets when first, if it differs from diffract's
        natural size of the kind; else ``None``."""
        return None

    # Sampling (POPPY's get_transmission, get_opd, get_phasor, sample).
    def _plane_for(self, wave: Wavefront | None) -> str:
        """The plane the optic is sampled in: the wavefront's, else its ``planetype``, else
        the first plane its kind sits in."""
        if isinstance(wave, Wavefront):
            pupil = wave.planetype in (PlaneType.pupil, PlaneType.intermediate)
            plane = "pupil" if pupil else "image"
        elif self.planetype in (PlaneType.image, PlaneType.detector):
            plane = "image"
        elif self.planetype == PlaneType.pupil:
            plane = "pupil"
        else:
            plane = self._planes[0]
        if plane not in self._planes:
            raise ValueError(
                f"{type(self).__name__} sits in a {self._planes[0]} plane, not {plane}"
            )
        return plane

    def _sampled(
        self, npix: int, pixelscale: float, plane: str
    ) -> tuple[npt.NDArray[np.float64] | None, ...]:
        """``(transmission, opd, phase)`` on ``npix x npix`` pixels of ``pixelscale`` (m/px
        or arcsec/px) about the array centre, sampled by the Rust library; ``None`` where
        the optic has none."""
        from .array_optics import ArrayFiles

        with tempfile.TemporaryDirectory(prefix="diffract-arrays-") as directory:
            pupil = plane == "pupil"
            ctx = {
                "files": ArrayFiles(directory),
                "pupil_pixelscale": pixelscale if pupil else None,
            }
            table = self._scene_table(plane, ctx)
            top = {
                "name": f"sample of {self.name}",
                "npix": npix,
                "pupil_diameter_m": npix * pixelscale if pupil else 1.0,
                "oversample": 1,
            }
            # A pupil-plane optic needs a detector to make a scene (not used here).
            detector = {"pixelscale_arcsec": 0.1, "fov_pixels": 8} if pupil else None
            text = _toml.scene_text(top, {"wavelengths_m": [1e-6]}, [table], detector)
            return _diffract.sample_optic(text, npix, pixelscale)

    def _grid_of(self, wave: Wavefront) -> tuple[int, float, str]:
        if not isinstance(wave, Wavefront):
            raise ValueError(  # noqa: TRY004 (POPPY raises ValueError)
                f"{type(self).__name__}: give a Wavefront to sample on (or use sample())"
            )
        if wave.shape[0] != wave.shape[1]:
            raise ValueError(f"sampling needs a square wavefront, got {wave.shape}")
        plane = self._plane_for(wave)
        unit = u.m / u.pixel if plane == "pupil" else u.arcsec / u.pixel
        return wave.shape[0], float(wave.pixelscale.to_value(unit)), plane

    def _arrays_on(self, wave: Wavefront) -> tuple[npt.NDArray[np.float64], ...]:
        """Transmission (ones where clear) and OPD in metres (a phase converted at the
        wavefront's wavelength) on ``wave``'s grid."""
        npix, scale, plane = self._grid_of(wave)
        transmission, opd, phase = self._sampled(npix, scale, plane)
        if transmission is None:
            transmission = np.ones((npix, npix))
        if opd is None:
            opd = np.zeros((npix, npix))
        if phase is not None:
            opd = opd + phase * wave.wavelength.to_value(u.m) / (2 * np.pi)
        return transmission, opd

    def get_transmission(self, wave: Wavefront) -> npt.NDArray[np.float64]:
        """The amplitude transmission on ``wave``'s grid (POPPY's ``get_transmission``)."""
        return self._arrays_on(wave)[0]

    def get_opd(self, wave: Wavefront) -> npt.NDArray[np.float64]:
        """The OPD in metres on ``wave``'s grid (POPPY's ``get_opd``)."""
        return self._arrays_on(wave)[1]

    def get_phasor(self, wave: Wavefront) -> npt.NDArray[np.complex128]:
        """``transmission * exp(2 pi i opd / wavelength)`` on ``wave``'s grid (POPPY's
        ``get_phasor``)."""
        transmission, opd = self._arrays_on(wave)
        k = 2 * np.pi / wave.wavelength.to_value(u.m)
        return transmission * np.exp(1j * k * opd)

    def sample(
        self,
        wavelength: Length = 1e-6,
        npix: int = 512,
        grid_size: Length | None = None,
        what: str = "amplitude",
        return_scale: bool = False,
        phase_unit: str = "waves",
    ) -> Any:
        """The optic on an ``npix x npix`` grid ``grid_size`` across (metres in a pupil
        plane, default the optic's pupil size or 1 m; arcsec in an image plane, default 4)
        (POPPY's ``sample``): ``what`` is "amplitude", "intensity", "phase" (in
        ``phase_unit`` "waves" or "radians"), "opd" (metres) or "complex". With
        ``return_scale``, also the pixel scale as a Quantity."""
        plane = self._plane_for(None)
        npix = _units.integer(npix, "npix")
        wavelength = _units.scalar(wavelength, "m", "wavelength")
        default = _sample_size(self)
        if plane == "pupil":
            size = default or 1.0
            if grid_size is not None:
                size = _units.scalar(grid_size, "m", "grid_size")
            wave = Wavefront(wavelength=wavelength, npix=npix, diam=size)
        else:
            fov = default or 4.0
            if grid_size is not None:
                fov = _units.scalar(grid_size, "arcsec", "grid_size")
            wave = Wavefront(wavelength=wavelength, npix=npix, pixelscale=fov / npix)
        transmission, opd = self._arrays_on(wave)
        if what == "amplitude":
            out: Any = transmission
        elif what == "intensity":
            out = transmission**2
        elif what == "phase":
            if phase_unit == "waves":
                out = opd / wavelength
            elif phase_unit == "radians":
                out = 2 * np.pi * opd / wavelength
            else:
                raise ValueError(
                    f"Invalid/unknown phase_unit: {phase_unit}. Must be one of [radians, waves]"
                )
        elif what == "opd":
            out = opd
        elif what == "complex":
            out = transmission * np.exp(2j * np.pi * opd / wavelength)
        else:
            raise ValueError(
                f"Invalid/unknown what to sample: {what}. Must be one of "
                "[amplitude, intensity, phase, opd, complex]"
            )
        if return_scale:
            return out, wave.pixelscale
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.name}>"


class AnalyticOpticalElement(OpticalElement):
    """An optic described by a function (POPPY's ``AnalyticOpticalElement``): takes
    ``shift_x``, ``shift_y`` (metres in pupil planes, arcseconds in image planes) and
    ``rotation`` (degrees, counter-clockwise)."""

    def __init__(
        self,
        name: str | None = None,
        shift_x: Scalar | None = None,
        shift_y: Scalar | None = None,
        rotation: Angle | None = None,
        inclination_x: Angle | None = None,
        inclination_y: Angle | None = None,
        planetype: PlaneType | None = None,
    ) -> None:
        super().__init__(name=name, planetype=planetype)
        if inclination_x is not None or inclination_y is not None:
            raise NotImplementedError(
                f"{type(self).__name__}(inclination_x=, inclination_y=): diffract has no "
                "inclined (foreshortened) optics"
            )
        # Kept as given; converted when the plane (and so the unit) is known.
        self.shift_x = shift_x
        self.shift_y = shift_y
        self.rotation = _units.optional_scalar(rotation, "deg", "rotation")

    def _placement(self, plane: str) -> dict[str, float]:
        unit, suffix = ("m", "_m") if plane == "pupil" else ("arcsec", "_arcsec")
        keys = {}
        if self.shift_x is not None:
            keys["shift_x" + suffix] = _units.scalar(self.shift_x, unit, "shift_x")
        if self.shift_y is not None:
            keys["shift_y" + suffix] = _units.scalar(self.shift_y, unit, "shift_y")
        if self.rotation is not None:
            keys["rotation_deg"] = self.rotation
        return keys

    def _own_keys(self) -> dict[str, Any]:
        raise NotImplementedError

    def _keys(self, plane: str) -> dict[str, Any]:
        keys = self._own_keys()
        keys.update(self._placement(plane))
        return keys


class ScalarTransmission(AnalyticOpticalElement):
    """Uniform amplitude transmission, in either plane (POPPY's ``ScalarTransmission``)."""

    _kind = "scalar_transmission"
    _planes = ("pupil", "image")

    def __init__(self, name: str | None = None, transmission: float = 1.0, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.transmission = _units.scalar(transmission, "", "transmission")

    def _own_keys(self) -> dict[str, Any]:
        return {"transmission": self.transmission}


class CircularAperture(AnalyticOpticalElement):
    """A circular pupil with exact gray edge pixels (POPPY's ``CircularAperture``).

    ``radius`` in metres (default 1 m). ``pad_factor`` scales the pupil diameter it sets
    as the first optic (2 radius pad_factor), as POPPY's ``pupil_diam``."""

    _kind = "circular_aperture"

    def __init__(
        self,
        name: str | None = None,
        radius: Length = 1.0,
        pad_factor: float = 1.0,
        planetype: PlaneType | None = None,
        gray_pixel: bool = True,
        **kwargs: Any,
    ) -> None:
        if not gray_pixel:
            raise NotImplementedError(
                "CircularAperture(gray_pixel=False): diffract's circles always have exact "
                "gray edge pixels"
            )
        self.radius = _units.scalar(radius, "m", "radius")
        if name is None:
            name = f"Circle, radius={self.radius} m"
        super().__init__(name=name, planetype=planetype, **kwargs)
        self.pad_factor = _units.scalar(pad_factor, "", "pad_factor")

    def _own_keys(self) -> dict[str, Any]:
        return {"radius_m": self.radius}

    def _pupil_diameter(self) -> float | None:
        if self.pad_factor == 1.0:
            return None
        return 2 * self.radius * self.pad_factor


class SecondaryObscuration(AnalyticOpticalElement):
    """A central obscuration on ``n_supports`` spiders (POPPY's ``SecondaryObscuration``):
    ``secondary_radius`` and ``support_width`` in metres, ``support_angle_offset`` in
    degrees (spiders at 360 k / n + offset from +X)."""

    _kind = "secondary_obscuration"

    def __init__(
        self,
        name: str | None = None,
        secondary_radius: Length = 0.5,
        n_supports: int = 4,
        support_width: Length = 0.01,
        support_angle_offset: Angle = 0.0,
        **kwargs: Any,
    ) -> None:
        self.n_supports = _units.integer(n_supports, "n_supports")
        if name is None:
            name = f"Secondary Obscuration with {self.n_supports} supports"
        super().__init__(name=name, **kwargs)
        self.secondary_radius = _units.scalar(secondary_radius, "m", "secondary_radius")
        self.support_width = _units.scalar(support_width, "m", "support_width")
        self.support_angle_offset = _units.scalar(
            support_angle_offset, "deg", "support_angle_offset"
        )

    def _own_keys(self) -> dict[str, Any]:
        return {
            "secondary_radius_m": self.secondary_radius,
            "n_supports": self.n_supports,
            "support_width_m": self.support_width,
            "support_angle_offset_deg": self.support_angle_offset,
        }


class HexagonAperture(AnalyticOpticalElement):
    """A hexagon with flat sides parallel to X (POPPY's ``HexagonAperture``): one of
    ``side``, ``diameter`` (vertex to vertex) or ``flattoflat``, in metres (default: side
    1 m); ``rotation`` in degrees."""

    _kind = "hexagon_aperture"

    def __init__(
        self,
        name: str | None = None,
        side: Length | None = None,
        diameter: Length | None = None,
        flattoflat: Length | None = None,
        **kwargs: Any,
    ) -> None:
        if flattoflat is not None and side is None and diameter is None:
            self.flattoflat = _units.scalar(flattoflat, "m", "flattoflat")
            side = self.flattoflat / math.sqrt(3.0)
        else:
            if side is not None:
                side = _units.scalar(side, "m", "side")
            elif diameter is not None:
                side = _units.scalar(diameter, "m", "diameter") / 2
            else:
                side = 1.0
            self.flattoflat = side * math.sqrt(3.0)
        self.side = side
        if name is None:
            name = f"Hexagon, side length= {side} m"
        super().__init__(name=name, **kwargs)

    def _own_keys(self) -> dict[str, Any]:
        return {"flattoflat_m": self.flattoflat}


class MultiHexagonAperture(AnalyticOpticalElement):
    """Rings of hexagonal segments (POPPY's ``MultiHexagonAperture``): ``flattoflat`` (or
    ``side``) and ``gap`` in metres, ``rings``, ``segmentlist`` (segment numbers, 0 the
    centre; default all), ``center`` (include the central segment)."""

    _kind = "multi_hexagon_aperture"

    def __init__(
        self,
        name: str = "MultiHex",
        flattoflat: Length | None = 1.0,
        side: Length | None = None,
        gap: Length = 0.01,
        rings: int = 1,
        segmentlist: Sequence[int] | None = None,
        center: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        if side is not None:
            self.flattoflat = _units.scalar(side, "m", "side") * math.sqrt(3.0)
        elif flattoflat is None:
            self.flattoflat = math.sqrt(3.0)  # POPPY's default side of 1 m
        else:
            self.flattoflat = _units.scalar(flattoflat, "m", "flattoflat")
        self.gap = _units.scalar(gap, "m", "gap")
        self.rings = _units.integer(rings, "rings")
        self.segmentlist = (
            None if segmentlist is None else [_units.integer(s, "segmentlist") for s in segmentlist]
        )
        self.center = bool(center)

    def _own_keys(self) -> dict[str, Any]:
        return {
            "rings": self.rings,
            "flattoflat_m": self.flattoflat,
            "gap_m": self.gap,
            "center": self.center,
            "segments": self.segmentlist,
        }


class RectangleAperture(AnalyticOpticalElement):
    """A rectangle (POPPY's ``RectangleAperture``): ``width`` along X and ``height`` in
    metres (defaults 0.5 and 1), ``rotation`` in degrees."""

    _kind = "rectangle_aperture"

    def __init__(
        self,
        name: str | None = None,
        width: Length = 0.5,
        height: Length = 1.0,
        rotation: Angle = 0.0,
        **kwargs: Any,
    ) -> None:
        self.width = _units.scalar(width, "m", "width")
        self.height = _units.scalar(height, "m", "height")
        if name is None:
            name = f"Rectangle, size= {self.width} m wide * {self.height} m high"
        super().__init__(name=name, rotation=rotation, **kwargs)

    def _own_keys(self) -> dict[str, Any]:
        return {"width_m": self.width, "height_m": self.height}


class SquareAperture(AnalyticOpticalElement):
    """A square of side ``size`` metres (default 1), ``rotation`` in degrees (POPPY's
    ``SquareAperture``)."""

    _kind = "square_aperture"

    def __init__(self, name: str | None = None, size: Length = 1.0, **kwargs: Any) -> None:
        self.size = _units.scalar(size, "m", "size")
        if name is None:
            name = f"Square, side length= {self.size} m"
        super().__init__(name=name, **kwargs)

    def _own_keys(self) -> dict[str, Any]:
        return {"size_m": self.size}


class ZernikeWFE(AnalyticOpticalElement):
    """Wavefront error as Zernike polynomials (POPPY's ``ZernikeWFE``): ``coefficients``
    in metres RMS, Noll order from piston; ``radius`` (metres) of the unit circle they are
    normalised over. OPD only, zero outside the radius."""

    _kind = "zernike_wfe"

    def __init__(
        self,
        name: str = "Zernike WFE",
        coefficients: Values | None = None,
        radius: Length | None = None,
        aperture_stop: bool = False,
        **kwargs: Any,
    ) -> None:
        if radius is None:
            raise ValueError(
                "You must specify a radius for the unit circle over which the Zernike "
                "polynomials are normalized"
            )
        if aperture_stop:
            raise NotImplementedError(
                "ZernikeWFE(aperture_stop=True): diffract's Zernike optic is OPD only; "
                "add a CircularAperture for the stop"
            )
        super().__init__(name=name, **kwargs)
        self.radius = _units.scalar(radius, "m", "radius")
        self.coefficients = (
            [] if coefficients is None else _units.array(coefficients, "m", "coefficients")
        )
        self.aperture_stop = False

    def _own_keys(self) -> dict[str, Any]:
        return {"radius_m": self.radius, "coefficients_m": self.coefficients}


class CircularOcculter(AnalyticOpticalElement):
    """An opaque disc of ``radius`` arcseconds (default 1) with gray edges, in an image
    plane (POPPY's ``CircularOcculter``)."""

    _kind = "circular_occulter"
    _planes = ("image",)

    def __init__(self, name: str = "unnamed occulter", radius: Angle = 1.0, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.radius = _units.scalar(radius, "arcsec", "radius")

    def _own_keys(self) -> dict[str, Any]:
        return {"radius_arcsec": self.radius}


class InverseTransmission(AnalyticOpticalElement):
    """Amplitude transmission 1 - t of another optic, its OPD kept (POPPY's
    ``InverseTransmission``); in the plane the optic allows."""

    def __init__(self, optic: OpticalElement | None = None) -> None:
        if not isinstance(optic, OpticalElement):
            raise ValueError("Need to supply an valid optic to invert!")  # noqa: TRY004 (POPPY)
        if isinstance(optic, InverseTransmission):
            raise NotImplementedError(
                "InverseTransmission(InverseTransmission(...)): an optic inverted twice"
            )
        super().__init__(name=f"1-{optic.name}")
        self.optic = optic

    @property
    def _kind(self) -> str | None:  # type: ignore[override]  # the inverted optic's
        return self.optic._kind

    @property
    def _planes(self) -> tuple[str, ...]:  # type: ignore[override]  # the inverted optic's
        return self.optic._planes

    def _keys_in(self, plane: str, ctx: dict[str, Any] | None) -> dict[str, Any]:
        keys = self.optic._keys_in(plane, ctx)
        keys["inverse"] = True
        return keys


class NgonAperture(AnalyticOpticalElement):
    """A regular polygon of ``nsides`` (6) with vertices at ``radius`` metres (1) (POPPY's
    ``NgonAperture``); ``rotation`` in degrees turns it as POPPY 1.1.2 does (by twice
    the angle)."""

    _kind = "ngon_aperture"

    def __init__(
        self,
        name: str | None = None,
        nsides: int = 6,
        radius: Length = 1.0,
        rotation: Angle = 0.0,
        **kwargs: Any,
    ) -> None:
        self.nsides = _units.integer(nsides, "nsides")
        self.radius = _units.scalar(radius, "m", "radius")
        if name is None:
            name = f"{self.nsides}-gon, radius= {self.radius} m"
        super().__init__(name=name, rotation=rotation, **kwargs)

    def _own_keys(self) -> dict[str, Any]:
        return {"nsides": self.nsides, "radius_m": self.radius}


class MultiCircularAperture(AnalyticOpticalElement):
    """Rings of circular segments with gray edges (POPPY's ``MultiCircularAperture``):
    ``segment_radius`` (1 m) and ``gap`` (0.01 m), ``rings`` (1), ``segmentlist`` (all),
    ``center`` (True)."""

    _kind = "multi_circular_aperture"

    def __init__(
        self,
        name: str = "multiCirc",
        rings: int = 1,
        segment_radius: Length = 1.0,
        gap: Length = 0.01,
        segmentlist: Sequence[int] | None = None,
        center: bool = True,
        gray_pixel: bool = True,
        **kwargs: Any,
    ) -> None:
        if not gray_pixel:
            raise NotImplementedError(
                "MultiCircularAperture(gray_pixel=False): diffract's circles always have "
                "exact gray edge pixels"
            )
        super().__init__(name=name, **kwargs)
        self.rings = _units.integer(rings, "rings")
        self.segment_radius = _units.scalar(segment_radius, "m", "segment_radius")
        self.gap = _units.scalar(gap, "m", "gap")
        self.segmentlist = (
            None if segmentlist is None else [_units.integer(s, "segmentlist") for s in segmentlist]
        )
        self.center = bool(center)

    def _own_keys(self) -> dict[str, Any]:
        return {
            "rings": self.rings,
            "segment_radius_m": self.segment_radius,
            "gap_m": self.gap,
            "center": self.center,
            "segments": self.segmentlist,
        }


class ThinLens(AnalyticOpticalElement):
    """A circular aperture of ``radius`` metres (1) with defocus of ``nwaves`` (4) waves
    peak to valley at ``reference_wavelength`` (1e-6 m) (POPPY's ``ThinLens``)."""

    _kind = "thin_lens"

    def __init__(
        self,
        name: str = "Thin lens",
        nwaves: float = 4.0,
        reference_wavelength: Length = 1e-6,
        radius: Length = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.nwaves = _units.scalar(nwaves, "", "nwaves")
        self.reference_wavelength = _units.scalar(reference_wavelength, "m", "reference_wavelength")
        self.radius = _units.scalar(radius, "m", "radius")

    def _own_keys(self) -> dict[str, Any]:
        return {
            "nwaves": self.nwaves,
            "reference_wavelength_m": self.reference_wavelength,
            "radius_m": self.radius,
        }


class AnnularFieldStop(AnalyticOpticalElement):
    """Light passes between ``radius_inner`` (0) and ``radius_outer`` (1; 0: no outer
    edge) arcseconds, gray edges, in an image plane (POPPY's ``AnnularFieldStop``)."""

    _kind = "annular_field_stop"
    _planes = ("image",)

    def __init__(
        self,
        name: str = "unnamed annular field stop",
        radius_inner: Angle = 0.0,
        radius_outer: Angle = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.radius_inner = _units.scalar(radius_inner, "arcsec", "radius_inner")
        self.radius_outer = _units.scalar(radius_outer, "arcsec", "radius_outer")

    def _own_keys(self) -> dict[str, Any]:
        return {
            "radius_inner_arcsec": self.radius_inner,
            "radius_outer_arcsec": self.radius_outer,
        }


class RectangularFieldStop(AnalyticOpticalElement):
    """A rectangular opening ``width`` (0.5) along X by ``height`` (5) arcseconds in an
    image plane, ``rotation`` in degrees (POPPY's ``RectangularFieldStop``)."""

    _kind = "rectangular_field_stop"
    _planes = ("image",)

    def __init__(
        self,
        name: str = "unnamed field stop",
        width: Angle = 0.5,
        height: Angle = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.width = _units.scalar(width, "arcsec", "width")
        self.height = _units.scalar(height, "arcsec", "height")

    def _own_keys(self) -> dict[str, Any]:
        return {"width_arcsec": self.width, "height_arcsec": self.height}


class SquareFieldStop(AnalyticOpticalElement):
    """A square opening of ``size`` arcseconds (20) in an image plane, ``rotation`` in
    degrees (POPPY's ``SquareFieldStop``)."""

    _kind = "square_field_stop"
    _planes = ("image",)

    def __init__(self, name: str = "unnamed field stop", size: Angle = 20.0, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.size = _units.scalar(size, "arcsec", "size")

    def _own_keys(self) -> dict[str, Any]:
        return {"size_arcsec": self.size}


class GaussianAperture(AnalyticOpticalElement):
    """A Gaussian amplitude t = exp(-(r / w)^2) (POPPY's ``GaussianAperture``): ``fwhm``
    or ``w`` in metres (exactly one; w = fwhm / (2 sqrt(ln 2))), ``pupil_diam`` (3 fwhm)
    the pupil it sets as the first optic."""

    _kind = "gaussian_aperture"

    def __init__(
        self,
        name: str | None = None,
        fwhm: Length | None = None,
        w: Length | None = None,
        pupil_diam: Length | None = None,
        **kwargs: Any,
    ) -> None:
        if (fwhm is None) == (w is None):
            raise ValueError("Either the fwhm or w parameter must be set, not both.")
        if fwhm is not None:
            self.fwhm = _units.scalar(fwhm, "m", "fwhm")
            self.w = self.fwhm / (2 * math.sqrt(math.log(2)))
        else:
            self.w = _units.scalar(w, "m", "w")
            self.fwhm = self.w * 2 * math.sqrt(math.log(2))
        if name is None:
            name = f"Gaussian aperture with fwhm ={self.fwhm:.2f}"
        super().__init__(name=name, **kwargs)
        self.pupil_diam = (
            3 * self.fwhm if pupil_diam is None else _units.scalar(pupil_diam, "m", "pupil_diam")
        )

    def _own_keys(self) -> dict[str, Any]:
        return {"w_m": self.w}

    def _pupil_diameter(self) -> float | None:
        return self.pupil_diam


class AsymmetricSecondaryObscuration(SecondaryObscuration):
    """A secondary on spiders at arbitrary angles (POPPY's
    ``AsymmetricSecondaryObscuration``): ``support_angle`` in degrees counter-clockwise
    from +Y ((0, 90, 240)), ``support_width`` (0.01 m), ``support_offset_x``,
    ``support_offset_y`` (0 m; where each spider starts), each one value for all spiders
    or one per angle; ``secondary_radius`` (0.5 m) as ``SecondaryObscuration``."""

    _kind = "asymmetric_secondary_obscuration"

    def __init__(
        self,
        support_angle: Values = (0, 90, 240),
        support_width: Values = 0.01,
        support_offset_x: Values = 0.0,
        support_offset_y: Values = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.support_angle = _units.array(support_angle, "deg", "support_angle")
        # One width per spider (SecondaryObscuration's is one float).
        self.support_width = _units.array(  # type: ignore[assignment]
            support_width, "m", "support_width"
        )
        self.support_offset_x = _units.array(support_offset_x, "m", "support_offset_x")
        self.support_offset_y = _units.array(support_offset_y, "m", "support_offset_y")

    def _own_keys(self) -> dict[str, Any]:
        return {
            "secondary_radius_m": self.secondary_radius,
            "support_angle_deg": self.support_angle,
            "support_width_m": self.support_width,
            "support_offset_x_m": self.support_offset_x,
            "support_offset_y_m": self.support_offset_y,
        }


class KnifeEdge(AnalyticOpticalElement):
    """Transmission 1 where x < 0, 0 elsewhere, the edge along +Y through the optic's
    centre before ``rotation`` (degrees) (POPPY's ``KnifeEdge``); either plane."""

    _kind = "knife_edge"
    _planes = ("pupil", "image")

    def __init__(self, name: str | None = None, rotation: Angle = 0, **kwargs: Any) -> None:
        super().__init__(name="Knife edge" if name is None else name, **kwargs)
        self.rotation_edge = _units.scalar(rotation, "deg", "rotation")

    def _own_keys(self) -> dict[str, Any]:
        return {"rotation_deg": self.rotation_edge}


class ScalarOpticalPathDifference(AnalyticOpticalElement):
    """The same OPD everywhere, ``opd`` metres (1e-6) (POPPY's
    ``ScalarOpticalPathDifference``); either plane."""

    _kind = "scalar_optical_path_difference"
    _planes = ("pupil", "image")

    def __init__(self, name: str | None = None, opd: Length = 1e-6, **kwargs: Any) -> None:
        super().__init__(name="Scalar OPD" if name is None else name, **kwargs)
        self.opd = _units.scalar(opd, "m", "opd")

    def _own_keys(self) -> dict[str, Any]:
        return {"opd_m": self.opd}


class KeystoneSegmentedCircularAperture(AnalyticOpticalElement):
    """A circle cut into rings of keystone sections (POPPY's
    ``KeystoneSegmentedCircularAperture``): ``radius`` (1 m), ``rings`` (2), ``nsections``
    (4; one for all rings or one per ring), ``gap_radii`` (metres; default radius (k + 1)
    / rings), ``gap`` (0.01 m), ``rotation``; hard edges (``gray_pixel=True`` is
    refused)."""

    _kind = "keystone_segmented_circular_aperture"

    def __init__(
        self,
        name: str | None = None,
        radius: Length = 1.0,
        rings: int = 2,
        nsections: int | Sequence[int] = 4,
        gap_radii: Values | None = None,
        gap: Length = 0.01,
        gray_pixel: bool = False,
        rotation: Angle = 0,
        **kwargs: Any,
    ) -> None:
        if gray_pixel:
            raise NotImplementedError(
                "KeystoneSegmentedCircularAperture(gray_pixel=True): diffract's keystone "
                "pupil has hard edges"
            )
        super().__init__(
            name="Keystone segments" if name is None else name,
            rotation=rotation if rotation else None,
            **kwargs,
        )
        self.radius = _units.scalar(radius, "m", "radius")
        self.rings = _units.integer(rings, "rings")
        sections = nsections if isinstance(nsections, (list, tuple)) else [nsections]
        self.nsections = [_units.integer(n, "nsections") for n in sections]
        self.gap_radii = None if gap_radii is None else _units.array(gap_radii, "m", "gap_radii")
        self.gap = _units.scalar(gap, "m", "gap")

    def _own_keys(self) -> dict[str, Any]:
        return {
            "radius_m": self.radius,
            "rings": self.rings,
            "nsections": self.nsections,
            "gap_radii_m": self.gap_radii,
            "gap_m": self.gap,
        }


def _inner_table(optic: OpticalElement, plane: str, what: str) -> dict[str, Any]:
    """An optic as a table inside a compound or stage (analytic optics only)."""
    if not isinstance(optic, AnalyticOpticalElement):
        raise NotImplementedError(
            f"{what}: a {type(optic).__name__} inside it (analytic optics only)"
        )
    table = {"kind": optic._kind}
    table.update(optic._keys_in(plane, None))
    return table


class TipTiltStage(AnalyticOpticalElement):
    """An optic on a tip-tilt stage (POPPY's ``TipTiltStage``): ``optic`` (analytic),
    ``radius`` (1 m) of the Zernike tilts, ``include_factor_of_two`` (False);
    ``set_tip_tilt(tip, tilt)`` in arcsec (a positive tip moves the PSF toward +X, tilt
    toward +Y), ``get_tip_tilt()``."""

    _kind = "tip_tilt_stage"

    def __init__(
        self,
        optic: OpticalElement | None = None,
        radius: Length = 1.0,
        include_factor_of_two: bool = False,
        **kwargs: Any,
    ) -> None:
        if optic is None:
            raise ValueError("TipTiltStage needs an optic")
        super().__init__(name=kwargs.pop("name", f"TipTiltStage for {optic.name}"), **kwargs)
        self.optic = optic
        self.radius = _units.scalar(radius, "m", "radius")
        self.include_factor_of_two = bool(include_factor_of_two)
        self.tip = 0.0
        self.tilt = 0.0

    def set_tip_tilt(self, tip: Angle, tilt: Angle) -> None:
        """Sets the stage's tip and tilt, arcsec (or angle Quantities)."""
        self.tip = _units.scalar(tip, "arcsec", "tip")
        self.tilt = _units.scalar(tilt, "arcsec", "tilt")

    def get_tip_tilt(self) -> list[float]:
        """The Zernike tilt coefficients (metres RMS, Noll 2 and 3) the stage applies."""
        coeff = 2 if self.include_factor_of_two else 1
        arcsec = math.pi / (180 * 3600)
        return [
            self.tip * arcsec * self.radius * coeff / 2,
            self.tilt * arcsec * self.radius * coeff / 2,
        ]

    def _own_keys(self) -> dict[str, Any]:
        return {
            "optic": _inner_table(self.optic, "pupil", "TipTiltStage"),
            "radius_m": self.radius,
            "tip_arcsec": self.tip,
            "tilt_arcsec": self.tilt,
            "include_factor_of_two": self.include_factor_of_two,
        }


class CompoundAnalyticOptic(AnalyticOpticalElement):
    """Analytic optics in one plane (POPPY's ``CompoundAnalyticOptic``): ``opticslist``,
    ``mergemode`` "and" (transmissions multiplied, OPDs summed) or "or"; either plane.
    Shifts and rotations of the compound itself are ignored, as POPPY's; place its
    optics."""

    _kind = "compound_optic"
    _planes = ("pupil", "image")

    def __init__(
        self,
        opticslist: Sequence[AnalyticOpticalElement] | None = None,
        name: str = "unnamed",
        mergemode: str = "and",
        verbose: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        if not opticslist:
            raise ValueError("CompoundAnalyticOptic needs a list of optics")
        if mergemode not in ("and", "or"):
            raise ValueError(f"mergemode must be 'and' or 'or', got {mergemode!r}")
        self.opticslist = list(opticslist)
        self.mergemode = mergemode

    def _keys_in(self, plane: str, ctx: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "optics": [_inner_table(o, plane, "CompoundAnalyticOptic") for o in self.opticslist],
            "merge": self.mergemode,
        }

    def _pupil_diameter(self) -> float | None:
        sizes = [o._pupil_diameter() for o in self.opticslist]
        known = [s for s in sizes if s is not None]
        return max(known) if known else None


class BarOcculter(AnalyticOpticalElement):
    """An opaque bar ``width`` arcsec wide (1) along Y, 10 arcsec long, turned by
    ``rotation`` (POPPY's ``BarOcculter``); image plane."""

    _kind = "bar_occulter"
    _planes = ("image",)

    def __init__(
        self, name: str = "bar occulter", width: Angle = 1.0, height: Angle = 10.0, **kwargs: Any
    ) -> None:
        if _units.scalar(height, "arcsec", "height") != 10.0:
            raise NotImplementedError("BarOcculter(height=): diffract's bar is 10 arcsec long")
        super().__init__(name=name, **kwargs)
        self.width = _units.scalar(width, "arcsec", "width")
        self.height = 10.0

    def _own_keys(self) -> dict[str, Any]:
        return {"width_arcsec": self.width}


class BandLimitedCoronagraph(AnalyticOpticalElement):
    """A band-limited occulter (POPPY's ``BandLimitedCoronagraph``): ``kind``
    "circular" (1 - (2 J1(sigma r) / (sigma r))^2) or "linear" (1 - sinc^2(sigma y)),
    ``sigma`` (1 per arcsec), ``wavelength`` (accepted, unused, as POPPY's); image
    plane."""

    _kind = "band_limited_coronagraph"
    _planes = ("image",)

    def __init__(
        self,
        name: str = "unnamed BLC",
        kind: str = "circular",
        sigma: float = 1,
        wavelength: Length | None = None,
        **kwargs: Any,
    ) -> None:
        if kind not in ("circular", "linear"):
            raise ValueError(f"kind must be 'circular' or 'linear', got {kind!r}")
        super().__init__(name=name, **kwargs)
        self.kind = kind
        self.sigma = _units.scalar(sigma, "", "sigma")
        self.wavelength = _units.optional_scalar(wavelength, "m", "wavelength")

    def _own_keys(self) -> dict[str, Any]:
        return {"profile": self.kind, "sigma": self.sigma, "wavelength_m": self.wavelength}


class IdealFQPM(AnalyticOpticalElement):
    """A four-quadrant phase mask with a pi step at ``wavelength`` (10.65e-6 m) (POPPY's
    ``IdealFQPM``); image plane, centred on the pixel corner by ``FQPM_FFT_aligner``."""

    _kind = "ideal_fqpm"
    _planes = ("image",)

    def __init__(
        self, name: str = "unnamed FQPM ", wavelength: Length = 10.65e-6, **kwargs: Any
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.central_wavelength = _units.scalar(wavelength, "m", "wavelength")

    def _own_keys(self) -> dict[str, Any]:
        return {"wavelength_m": self.central_wavelength}


class FQPM_FFT_aligner(AnalyticOpticalElement):
    """Tilts the beam by half an FFT image pixel, ``direction`` "forward" (before the
    mask) or "backward" (after it) (POPPY's ``FQPM_FFT_aligner``); pupil plane."""

    _kind = "fqpm_fft_aligner"

    def __init__(
        self, name: str = "FQPM FFT aligner", direction: str = "forward", **kwargs: Any
    ) -> None:
        direction = direction.lower()
        if direction not in ("forward", "backward"):
            raise ValueError(f"Invalid direction {direction!r}: must be forward or backward")
        super().__init__(name=name, **kwargs)
        self.direction = direction

    def _own_keys(self) -> dict[str, Any]:
        return {"direction": self.direction}


class CircularPhaseMask(AnalyticOpticalElement):
    """OPD ``retardance`` waves (0.5) at ``wavelength`` (1e-6 m) inside ``radius`` arcsec
    (1), no gray pixels (POPPY's ``CircularPhaseMask``); image plane."""

    _kind = "circular_phase_mask"
    _planes = ("image",)

    def __init__(
        self,
        name: str | None = None,
        radius: Angle = 1.0,
        wavelength: Length = 1e-6,
        retardance: float = 0.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=f"Phase mask r={radius}" if name is None else name, **kwargs)
        self.radius = _units.scalar(radius, "arcsec", "radius")
        self.wavelength = _units.scalar(wavelength, "m", "wavelength")
        self.retardance = _units.scalar(retardance, "", "retardance")

    def _own_keys(self) -> dict[str, Any]:
        return {
            "radius_arcsec": self.radius,
            "wavelength_m": self.wavelength,
            "retardance": self.retardance,
        }


class QuadraticLens(AnalyticOpticalElement):
    """A lens of focal length ``f_lens`` metres (1) (POPPY's ``QuadraticLens``): in an
    ``OpticalSystem`` pupil plane the OPD (x^2 + y^2) / (2 f) over the whole array, as
    POPPY applies it there."""

    _kind = "quadratic_lens"

    def __init__(
        self,
        f_lens: Length = 1.0,
        planetype: PlaneType | None = None,
        name: str = "Quadratic Lens",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, planetype=planetype, **kwargs)
        self.fl = _units.scalar(f_lens, "m", "f_lens")

    def _own_keys(self) -> dict[str, Any]:
        return {"focal_length_m": self.fl}


def _sample_size(optic: OpticalElement) -> float | None:
    """POPPY's default ``sample()`` grid size of ``optic`` (its display size, else its
    pupil diameter), in metres or arcsec; ``None``: POPPY's 1 m or 4 arcsec."""
    sizes: dict[type, Any] = {
        CircularAperture: lambda o: 3 * o.radius,
        ThinLens: lambda o: 3 * o.radius,
        HexagonAperture: lambda o: 3 * o.flattoflat / math.sqrt(3.0),
        MultiHexagonAperture: lambda o: (o.flattoflat + o.gap) * (2 * o.rings + 1),
        MultiCircularAperture: lambda o: (
            2 * o.segment_radius * (2 * o.rings + 1) + o.gap * 2 * o.rings
        ),
        NgonAperture: lambda o: 2 * o.radius,
        KeystoneSegmentedCircularAperture: lambda o: 2 * o.radius,
        RectangleAperture: lambda o: math.hypot(o.height, o.width),
        SquareAperture: lambda o: 2 * o.size,
        SecondaryObscuration: lambda o: 4 * o.secondary_radius,
        AsymmetricSecondaryObscuration: lambda o: 4 * o.secondary_radius,
        GaussianAperture: lambda o: o.pupil_diam,
        ZernikeWFE: lambda o: 3 * o.radius,
        CircularPhaseMask: lambda o: 4 * o.radius,
        RectangularFieldStop: lambda o: 1.2 * max(o.height, o.width),
        SquareFieldStop: lambda o: 1.2 * o.size,
        AnnularFieldStop: lambda o: 2 * max(o.radius_outer, o.radius_inner),
        CircularOcculter: lambda o: 10.0,
        BarOcculter: lambda o: 1.2 * max(o.height, o.width),
        BandLimitedCoronagraph: lambda o: 20.0,
        InverseTransmission: lambda o: _sample_size(o.optic),
    }
    size = sizes.get(type(optic))
    if size is not None:
        return float(size(optic))
    if isinstance(optic, CompoundAnalyticOptic):
        inner = [s for s in (_sample_size(o) for o in optic.opticslist) if s is not None]
        return max(inner) if inner else None
    return None
