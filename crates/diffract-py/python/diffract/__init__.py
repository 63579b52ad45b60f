"""diffract: telescope PSFs by physical-optics propagation, with POPPY's names.

A POPPY script runs on diffract with ``import diffract as poppy`` for what diffract offers
from Python today (docs/python.md): ``OpticalSystem`` with ``add_pupil``, ``add_image``,
``add_detector`` and ``calc_psf`` (an astropy ``HDUList`` as POPPY's), its coronagraph
wrappers, ``FresnelOpticalSystem``, and the optics below (analytic, from arrays and FITS
files, wavefront-error screens and deformable mirrors). POPPY names diffract does not offer raise ``NotImplementedError`` naming what is
missing. The computation runs in Rust with the GIL released.
"""

from . import zernike
from ._conf import conf
from ._diffract import __version__
from .array_optics import ArrayOpticalElement, FITSOpticalElement
from .display import display_profiles, display_psf
from .dms import (
    CircularSegmentedDeformableMirror,
    ContinuousDeformableMirror,
    HexSegmentedDeformableMirror,
)
from .fresnel import FresnelOpticalSystem
from .optics import (
    AnalyticOpticalElement,
    AnnularFieldStop,
    AsymmetricSecondaryObscuration,
    BandLimitedCoronagraph,
    BarOcculter,
    CircularAperture,
    CircularOcculter,
    CircularPhaseMask,
    CompoundAnalyticOptic,
    FQPM_FFT_aligner,
    GaussianAperture,
    HexagonAperture,
    IdealFQPM,
    InverseTransmission,
    KeystoneSegmentedCircularAperture,
    KnifeEdge,
    MultiCircularAperture,
    MultiHexagonAperture,
    NgonAperture,
    OpticalElement,
    QuadraticLens,
    RectangleAperture,
    RectangularFieldStop,
    ScalarOpticalPathDifference,
    ScalarTransmission,
    SecondaryObscuration,
    SquareAperture,
    SquareFieldStop,
    ThinLens,
    TipTiltStage,
    ZernikeWFE,
)
from .systems import Detector, MatrixFTCoronagraph, OpticalSystem, SemiAnalyticCoronagraph
from .utils import (
    measure_centroid,
    measure_ee,
    measure_fwhm,
    measure_radius_at_ee,
    measure_sharpness,
    radial_profile,
)
from .wfe import (
    KolmogorovWFE,
    ParameterizedWFE,
    PowerSpectrumWFE,
    SineWaveWFE,
    StatisticalPSDWFE,
)

__all__ = [
    "AnalyticOpticalElement",
    "AnnularFieldStop",
    "ArrayOpticalElement",
    "AsymmetricSecondaryObscuration",
    "BandLimitedCoronagraph",
    "BarOcculter",
    "CircularAperture",
    "CircularOcculter",
    "CircularPhaseMask",
    "CircularSegmentedDeformableMirror",
    "CompoundAnalyticOptic",
    "ContinuousDeformableMirror",
    "Detector",
    "FITSOpticalElement",
    "FQPM_FFT_aligner",
    "FresnelOpticalSystem",
    "GaussianAperture",
    "HexSegmentedDeformableMirror",
    "HexagonAperture",
    "IdealFQPM",
    "InverseTransmission",
    "KeystoneSegmentedCircularAperture",
    "KnifeEdge",
    "KolmogorovWFE",
    "MatrixFTCoronagraph",
    "MultiCircularAperture",
    "MultiHexagonAperture",
    "NgonAperture",
    "OpticalElement",
    "OpticalSystem",
    "ParameterizedWFE",
    "PowerSpectrumWFE",
    "QuadraticLens",
    "RectangleAperture",
    "RectangularFieldStop",
    "ScalarOpticalPathDifference",
    "ScalarTransmission",
    "SecondaryObscuration",
    "SemiAnalyticCoronagraph",
    "SineWaveWFE",
    "SquareAperture",
    "SquareFieldStop",
    "StatisticalPSDWFE",
    "ThinLens",
    "TipTiltStage",
    "ZernikeWFE",
    "__version__",
    "conf",
    "display_profiles",
    "display_psf",
    "measure_centroid",
    "measure_ee",
    "measure_fwhm",
    "measure_radius_at_ee",
    "measure_sharpness",
    "radial_profile",
    "zernike",
]

# Wavefronts (docs/python.md, "Wavefronts").
from .wavefront import PlaneType, Wavefront

__all__ += ["PlaneType", "Wavefront"]

# Scenes and grids from Python (docs/python.md, "Scenes and grids").
from .grid import psf_grid, read_psf_grid
from .scene import Scene, load_scene

__all__ += ["Scene", "load_scene", "psf_grid", "read_psf_grid"]

# POPPY names diffract does not offer from Python yet, and what each needs.
_NOT_YET = {
    "FresnelWavefront": "Fresnel propagation",
    "Instrument": "instruments",
}


def __getattr__(name):
    if name in _NOT_YET:
        raise NotImplementedError(
            f"diffract.{name}: {_NOT_YET[name]} from Python is not implemented yet "
            "(docs/python.md lists what is)"
        )
    raise AttributeError(f"module 'diffract' has no attribute {name!r}")
