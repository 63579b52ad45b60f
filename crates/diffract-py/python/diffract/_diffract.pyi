"""Type stubs of the extension module diffract._diffract (crates/diffract-py/src/lib.rs)."""

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from typing_extensions import TypeAlias

_Card: TypeAlias = tuple[str, int | float | str, str | None]
_Image: TypeAlias = npt.NDArray[np.float64]
_Field: TypeAlias = npt.NDArray[np.complex128]
# A plane's wavefront: index, kind, image_plane, field, pixelscale, z_m.
_Plane: TypeAlias = dict[str, int | str | bool | _Field | float | None]

__version__: str

def check_scene(scene: str, file: str | None = None) -> None: ...
def compute_psf(
    scene: str,
    workers: int | None = None,
    file: str | None = None,
    offset: tuple[float, float] | None = None,
    wavelength: float | None = None,
    keep: str | None = None,
    progress: Callable[[], object] | None = None,
    centre: bool = False,
    precision: str | None = None,
) -> tuple[_Image, _Image, list[_Card], list[_Card], list[_Plane]]: ...
def entrance(scene: str, file: str | None = None) -> tuple[int, float, int]: ...
def sample_optic(
    scene: str, npix: int, pixelscale: float, file: str | None = None
) -> tuple[_Image | None, _Image | None, _Image | None]: ...
def propagate(
    scene: str,
    field: _Field,
    wavelength: float,
    pixelscale: float,
    intermediates: bool = False,
    file: str | None = None,
    precision: str | None = None,
) -> list[_Plane]: ...

class EeCurve:
    def at(self, radius: float) -> float: ...

def ee_curve(
    image: _Image,
    pixelscale: float,
    center: tuple[float, float] | None = None,
    binsize: float | None = None,
    inverse: bool = False,
) -> EeCurve: ...
def fwhm(
    image: _Image,
    pixelscale: float,
    center: tuple[float, float] | None = None,
    threshold: float = 0.1,
) -> float: ...
def centroid(image: _Image, boxsize: int = 20) -> tuple[float, float]: ...
