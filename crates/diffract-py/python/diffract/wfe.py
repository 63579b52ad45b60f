"""Wavefront-error optics with POPPY's names (POPPY's ``poppy.wfe``): Zernike or hexike
expansions, a sine wave, and random screens (a power law, PSD models, turbulence).

Random screens are a fixed function of ``seed`` and the grid, drawn by diffract's own
portable generator: they agree with POPPY's in their statistics, never pixel by pixel
(numpy's generator is not reproduced)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

import astropy.units as u

from . import _units
from ._units import Angle, Length, Scalar, Values
from .optics import AnalyticOpticalElement

__all__ = [
    "KolmogorovWFE",
    "ParameterizedWFE",
    "PowerSpectrumWFE",
    "SineWaveWFE",
    "StatisticalPSDWFE",
]

#: POPPY's basis functions (``poppy.zernike.zernike_basis``, ...) by name.
_BASES = {
    "zernike_basis": "zernike",
    "zernike_basis_faster": "zernike",
    "hexike_basis": "hexike",
    "zernike": "zernike",
    "hexike": "hexike",
}


def _seed(seed: int | None) -> int | None:
    return None if seed is None else _units.integer(seed, "seed")


class ParameterizedWFE(AnalyticOpticalElement):
    """Wavefront error as a weighted sum of a basis (POPPY's ``ParameterizedWFE``):
    ``coefficients`` in metres RMS (Noll order from piston), ``radius`` (1 m) of the
    circle the basis is normalised over, ``basis_factory`` POPPY's
    ``zernike.zernike_basis`` or ``zernike.hexike_basis`` (diffract's
    ``diffract.zernike`` functions of those names, POPPY's own, or the strings
    "zernike", "hexike"). OPD only, zero outside the basis' support."""

    _kind = "parameterized_wfe"

    def __init__(
        self,
        name: str = "Parameterized Distortion",
        coefficients: Values | None = None,
        radius: Length = 1.0,
        basis_factory: str | Callable[..., Any] | None = None,
        **kwargs: Any,
    ) -> None:
        key = basis_factory if isinstance(basis_factory, str) else None
        if key is None and callable(basis_factory):
            key = getattr(basis_factory, "__name__", None)
        if key is None:
            raise ValueError(
                "'basis_factory' must be a callable that can calculate basis functions"
            )
        if key not in _BASES:
            raise NotImplementedError(
                f"ParameterizedWFE(basis_factory={key}): diffract has the Zernike and "
                "hexike bases only (zernike_basis, hexike_basis)"
            )
        super().__init__(name=name, **kwargs)
        self.basis = _BASES[key]
        self.radius = _units.scalar(radius, "m", "radius")
        self.coefficients = (
            [] if coefficients is None else _units.array(coefficients, "m", "coefficients")
        )

    def _own_keys(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "radius_m": self.radius,
            "coefficients_m": self.coefficients,
        }


class SineWaveWFE(AnalyticOpticalElement):
    """A sinusoidal OPD over the whole array (POPPY's ``SineWaveWFE``): ``spatialfreq``
    in cycles per metre (1), ``amplitude`` in metres (1e-6), ``phaseoffset`` in cycles
    (0); ``rotation`` (degrees) turns the ripple's direction from +X."""

    _kind = "sine_wave_wfe"

    def __init__(
        self,
        name: str = "Sine WFE",
        spatialfreq: Scalar = 1.0,
        amplitude: Length = 1e-6,
        phaseoffset: float = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.sine_spatial_freq = _units.scalar(spatialfreq, 1 / u.m, "spatialfreq")
        self.sine_amplitude = _units.scalar(amplitude, "m", "amplitude")
        self.sine_phase_offset = _units.scalar(phaseoffset, "", "phaseoffset")

    def _own_keys(self) -> dict[str, Any]:
        return {
            "spatial_frequency_per_m": self.sine_spatial_freq,
            "amplitude_m": self.sine_amplitude,
            "phase_offset_cycles": self.sine_phase_offset,
        }


class StatisticalPSDWFE(AnalyticOpticalElement):
    """A random screen with a power-law PSD (POPPY's ``StatisticalPSDWFE``): ``index``
    (3), ``wfe`` RMS over the whole array (50 nm; floats in nanometres, as POPPY's),
    ``radius`` (1 m), ``seed`` (None: drawn, recorded in the PSF header as ``SEEDn``)."""

    _kind = "statistical_psd_wfe"

    def __init__(
        self,
        name: str = "PSD WFE",
        index: float = 3.0,
        wfe: Scalar = 50.0,
        radius: Length = 1.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.index = _units.scalar(index, "", "index")
        self.wfe = _units.scalar(wfe, "nm", "wfe")
        self.radius = _units.scalar(radius, "m", "radius")
        self.seed = _seed(seed)

    def _own_keys(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "wfe_rms_m": self.wfe * 1e-9,
            "radius_m": self.radius,
            "seed": self.seed,
        }


def _si(value: Scalar) -> float:
    """A number or Quantity (of any unit) as its SI value."""
    if isinstance(value, u.Quantity):
        return float(value.si.value)
    return float(value)


class PowerSpectrumWFE(AnalyticOpticalElement):
    """A random screen from PSD models (POPPY's ``PowerSpectrumWFE``):
    ``psd_parameters`` (a list of ``[alpha, beta, outer_scale, inner_scale,
    surf_roughness]``, Quantities converted to SI, floats taken as SI), ``psd_weight``
    (1 each), ``seed``, ``apply_reflection`` (False), ``rms`` (nanometres, as POPPY's)
    with ``radius`` (metres: scale to this RMS inside the radius), ``incident_angle`` (0 deg). The screen is drawn
    4 ``npix`` across (at most 8192) and cropped; ``screen_size`` is refused."""

    _kind = "power_spectrum_wfe"

    def __init__(
        self,
        name: str = "Model PSD WFE",
        psd_parameters: Sequence[Sequence[Scalar]] | None = None,
        psd_weight: Sequence[Scalar] | None = None,
        seed: int | None = None,
        apply_reflection: bool = False,
        screen_size: int | None = None,
        rms: Scalar | None = None,
        incident_angle: Angle = 0.0,
        radius: Length | None = None,
        **kwargs: Any,
    ) -> None:
        if screen_size is not None:
            raise NotImplementedError(
                "PowerSpectrumWFE(screen_size=): diffract draws the screen 4 npix across"
            )
        super().__init__(name=name, **kwargs)
        if psd_parameters is None:
            raise ValueError("PowerSpectrumWFE needs psd_parameters")
        self.psd_parameters = [[_si(v) for v in row] for row in psd_parameters]
        if any(len(row) != 5 for row in self.psd_parameters):
            raise ValueError(
                "psd_parameters: each entry is [alpha, beta, outer_scale, inner_scale, "
                "surf_roughness]"
            )
        self.psd_weight = None if psd_weight is None else [_si(w) for w in psd_weight]
        self.seed = _seed(seed)
        self.apply_reflection = bool(apply_reflection)
        rms = _units.optional_scalar(rms, "nm", "rms")
        self.rms = None if rms is None else rms * 1e-9
        self.radius = _units.optional_scalar(radius, "m", "radius")
        self.incident_angle = _units.scalar(incident_angle, "deg", "incident_angle")

    def _own_keys(self) -> dict[str, Any]:
        return {
            "psd_parameters": self.psd_parameters,
            "psd_weight": self.psd_weight,
            "seed": self.seed,
            "rms_m": self.rms,
            "radius_m": self.radius,
            "apply_reflection": self.apply_reflection,
            "incident_angle_deg": self.incident_angle,
        }


_SPECTRA = {
    "kolmogorov": "kolmogorov",
    "von karman": "von_karman",
    "tatarski": "tatarski",
    "hill": "hill",
}


class KolmogorovWFE(AnalyticOpticalElement):
    """A turbulence screen (POPPY's ``KolmogorovWFE``): ``r0`` (metres; as POPPY, the same
    phase at every wavelength, r0 at each), or ``Cn2`` (m^-2/3) with ``dz`` (metres);
    ``kind`` "Kolmogorov", "von Karman" (``outer_scale``), "Tatarski" or "Hill"
    (``inner_scale``); ``seed``. diffract adds the low frequencies POPPY's screens
    lack (subharmonics), so its structure function follows theory where POPPY's falls
    short."""

    _kind = "kolmogorov_wfe"

    def __init__(
        self,
        name: str = "Kolmogorov WFE",
        r0: Length | None = None,
        Cn2: Scalar | None = None,
        dz: Length | None = None,
        inner_scale: Length | None = None,
        outer_scale: Length | None = None,
        kind: str = "Kolmogorov",
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        if dz is None and not (r0 is not None and Cn2 is not None) and r0 is None:
            raise ValueError(
                "To prepare a turbulent phase screen, dz and either Cn2 or r0 must be given."
            )
        super().__init__(name=name, **kwargs)
        self.r0 = _units.optional_scalar(r0, "m", "r0")
        self.Cn2 = None if Cn2 is None else _si(Cn2)
        self.dz = _units.optional_scalar(dz, "m", "dz")
        self.inner_scale = _units.optional_scalar(inner_scale, "m", "inner_scale")
        self.outer_scale = _units.optional_scalar(outer_scale, "m", "outer_scale")
        spectrum = str(kind).lower()
        if spectrum not in _SPECTRA:
            raise ValueError(f"kind must be one of {sorted(_SPECTRA)}, got {kind!r}")
        self.kind = kind
        self._spectrum = _SPECTRA[spectrum]
        self.seed = _seed(seed)

    def _own_keys(self) -> dict[str, Any]:
        keys: dict[str, Any] = {"spectrum": self._spectrum, "seed": self.seed}
        if self.r0 is not None:
            keys["r0_m"] = self.r0
            keys["r0_at_each_wavelength"] = True
        else:
            keys["cn2"] = self.Cn2
            keys["dz_m"] = self.dz
        if self._spectrum != "kolmogorov":
            keys["inner_scale_m"] = self.inner_scale
            keys["outer_scale_m"] = self.outer_scale
        return keys
