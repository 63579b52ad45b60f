"""diffract: telescope PSFs by physical-optics propagation, with POPPY's names.

A POPPY script runs on diffract with ``import diffract as poppy`` for what diffract offers
from Python today (docs/python.md): ``OpticalSystem`` with ``add_pupil``, ``add_image``,
``add_detector`` and ``calc_psf`` (an astropy ``HDUList`` as POPPY's), and the optics
below. POPPY names diffract does not offer raise ``NotImplementedError`` naming what is
missing. The computation runs in Rust with the GIL released.
"""

from ._diffract import __version__
from .optics import (
    AnalyticOpticalElement,
    AnnularFieldStop,
    CircularAperture,
    CircularOcculter,
    HexagonAperture,
    InverseTransmission,
    MultiCircularAperture,
    MultiHexagonAperture,
    NgonAperture,
    OpticalElement,
    RectangleAperture,
    RectangularFieldStop,
    ScalarTransmission,
    SecondaryObscuration,
    SquareAperture,
    SquareFieldStop,
    ThinLens,
    ZernikeWFE,
)
from .systems import Detector, OpticalSystem
from .utils import measure_centroid, measure_ee, measure_fwhm, measure_radius_at_ee

__all__ = [
    "AnalyticOpticalElement",
    "AnnularFieldStop",
    "CircularAperture",
    "CircularOcculter",
    "Detector",
    "HexagonAperture",
    "InverseTransmission",
    "MultiCircularAperture",
    "MultiHexagonAperture",
    "NgonAperture",
    "OpticalElement",
    "OpticalSystem",
    "RectangleAperture",
    "RectangularFieldStop",
    "ScalarTransmission",
    "SecondaryObscuration",
    "SquareAperture",
    "SquareFieldStop",
    "ThinLens",
    "ZernikeWFE",
    "__version__",
    "measure_centroid",
    "measure_ee",
    "measure_fwhm",
    "measure_radius_at_ee",
]

# Scenes and grids from Python (docs/python.md, "Scenes and grids").
from .grid import psf_grid, read_psf_grid
from .scene import Scene, load_scene

__all__ += ["Scene", "load_scene", "psf_grid", "read_psf_grid"]

# POPPY names diffract does not offer from Python yet, and what each needs.
_NOT_YET = {
    "FresnelOpticalSystem": "Fresnel propagation",
    "FresnelWavefront": "Fresnel propagation",
    "Wavefront": "wavefront objects",
    "FITSOpticalElement": "optics from FITS files",
    "ArrayOpticalElement": "optics from numpy arrays",
    "CompoundAnalyticOptic": "compound optics",
    "AsymmetricSecondaryObscuration": "asymmetric spiders",
    "QuadraticLens": "quadratic lenses",
    "GaussianAperture": "Gaussian apertures",
    "KnifeEdge": "knife edges",
    "ScalarOpticalPathDifference": "scalar OPD",
    "ParameterizedWFE": "parameterized wavefront error",
    "SineWaveWFE": "sine-wave wavefront error",
    "StatisticalPSDWFE": "statistical PSD wavefront error",
    "PowerSpectrumWFE": "power-spectrum wavefront error",
    "KolmogorovWFE": "turbulence screens",
    "TipTiltStage": "tip-tilt stages",
    "KeystoneSegmentedCircularAperture": "keystone segmented pupils",
    "ContinuousDeformableMirror": "deformable mirrors",
    "HexSegmentedDeformableMirror": "deformable mirrors",
    "CircularSegmentedDeformableMirror": "deformable mirrors",
    "BarOcculter": "bar occulters",
    "BandLimitedCoronagraph": "band-limited coronagraph masks",
    "IdealFQPM": "four-quadrant phase masks",
    "FQPM_FFT_aligner": "four-quadrant phase masks",
    "CircularPhaseMask": "circular phase masks",
    "SemiAnalyticCoronagraph": "the semi-analytic coronagraph method",
    "MatrixFTCoronagraph": "the matrix-FT coronagraph method",
    "Instrument": "instruments",
    "display_psf": "PSF display",
    "display_profiles": "profile display",
    "radial_profile": "radial profiles",
    "measure_sharpness": "sharpness",
}


def __getattr__(name):
    if name in _NOT_YET:
        raise NotImplementedError(
            f"diffract.{name}: {_NOT_YET[name]} from Python is not implemented yet "
            "(docs/python.md lists what is)"
        )
    raise AttributeError(f"module 'diffract' has no attribute {name!r}")
