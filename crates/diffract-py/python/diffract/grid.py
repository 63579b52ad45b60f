"""PSF grids for photutils: ``psf_grid`` computes the PSF at source offsets on the sky,
serially or over a dask cluster, into the ``NDData`` cube photutils' ``GriddedPSFModel``
takes (as WebbPSF's ``psf_grid`` returns it).

Each point is computed as ``diffract grid`` computes a grid point (``[grid]`` in
docs/scene-format.md): the source offset ``(x, y)`` arcsec as POPPY's
``source_offset_x``/``_y`` (r = |(x, y)|, theta = atan2(-x, y) counter-clockwise from +Y),
monochromatic at ``wavelength`` or with the spectrum of the system or scene. The cube holds
the oversampled PSFs (the primary HDU of ``calc_psf``), so a point's slice is bit for bit the
slice ``diffract merge`` writes for it.

Stamps: by default (``centre_stamps=True``) each point's detector follows its source, so
every stamp holds the PSF centred on its own position, as ``GriddedPSFModel`` expects (it
moves the interpolated stamp to the position it evaluates); with ``centre_stamps=False``
the detector stays on the axis and each PSF sits at its offset in the stamp, as POPPY's
``source_offset`` puts it (the scene's ``[grid]`` default).

Detector positions: a source offset ``(x, y)`` arcsec puts the PSF at
``(x, y) / pixelscale`` detector pixels from the on-axis position, so
``grid_xypos[i] = reference_pixel + offsets[i] / pixelscale`` with ``pixelscale`` the
detector's (arcsec per detector pixel) and ``reference_pixel`` ``(x, y)`` the detector pixel
of the axis (default ``(0, 0)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from . import _units
from ._conf import conf
from ._units import Length, PathLike, SourceSpectrum
from .scene import Scene
from .systems import progress_bar

if TYPE_CHECKING:
    from astropy.nddata import NDData

    from .systems import OpticalSystem

#: A source offset ``(x, y)``: arcsec as floats or Quantities.
Offset = Sequence[Length]

__all__ = ["psf_grid", "psf_grid_point", "read_psf_grid"]


def psf_grid_point(
    scene: Scene,
    offset: Offset,
    wavelength: Length | None = None,
    centre_stamps: bool = True,
    precision: str | None = None,
) -> npt.NDArray[np.float64]:
    """The oversampled PSF (a float64 array) of one grid point of ``scene`` (a ``Scene``):
    the unit of work ``psf_grid`` sends to dask workers, also the function to map over a
    ``dask.bag`` of offsets (docs/python.md). ``offset`` ``(x, y)`` arcsec, ``wavelength``
    metres (default: the scene's spectrum); ``centre_stamps`` centres the PSF in the stamp;
    ``precision`` (default ``diffract.conf.precision`` where it runs)."""
    return scene._compute(wavelength, offset, bool(centre_stamps), precision)[0]


def _remote_point(
    offset: tuple[float, float],
    scene: Scene,
    wavelength: float | None,
    centre_stamps: bool,
    precision: str,
) -> npt.NDArray[np.float64]:
    """``psf_grid_point`` with the offset first, for ``Client.map``."""
    return scene._compute(wavelength, offset, centre_stamps, precision)[0]


def _scene_of(
    system: OpticalSystem | Scene, wavelength: Length | None, source: SourceSpectrum | None
) -> tuple[Scene, float | None]:
    """The scene and the per-point wavelength override of ``psf_grid``'s arguments."""
    if isinstance(system, Scene):
        if source is not None:
            raise ValueError(
                "psf_grid(scene, source=): a scene carries its own [source]; pass a system "
                "to give a spectrum"
            )
        point_wavelength = None
        if wavelength is not None:
            point_wavelength = _units.scalar(wavelength, "m", "wavelength")
        return system, point_wavelength
    to_toml = getattr(system, "to_toml", None)
    if to_toml is None:
        raise TypeError(
            f"psf_grid: system must be an OpticalSystem or a Scene, got {type(system).__name__}"
        )
    if source is None and wavelength is None:
        wavelength = 1e-6
    text = to_toml(wavelength, source=source)
    return Scene(text), None


def _offsets(offsets: Sequence[Offset]) -> list[tuple[float, float]]:
    values = np.asarray(
        [_units.array(o, "arcsec", "offsets") for o in offsets], dtype=float
    ).reshape(-1, 2)
    if values.shape[0] == 0:
        raise ValueError("psf_grid: offsets is empty")
    if len(offsets) != values.shape[0]:
        raise ValueError("psf_grid: each offset must be (x, y) arcsec")
    return [(float(x), float(y)) for x, y in values]


def psf_grid(
    system: OpticalSystem | Scene,
    offsets: Sequence[Offset],
    wavelength: Length | None = None,
    source: SourceSpectrum | None = None,
    client: Any = None,
    reference_pixel: Sequence[float] = (0.0, 0.0),
    centre_stamps: bool = True,
    progressbar: bool = False,
) -> NDData:
    """The PSFs of ``system`` (an ``OpticalSystem`` or a ``Scene``) at the source
    ``offsets`` (a list of ``(x, y)`` arcsec, floats or Quantities), as photutils'
    ``GriddedPSFModel`` takes them: an astropy ``NDData`` whose ``data`` is the cube
    ``(points, y, x)`` of oversampled PSFs in the order of ``offsets``, with ``meta``
    ``grid_xypos`` (``(x, y)`` detector pixels per point: ``reference_pixel +
    offset / pixelscale``), ``oversampling``, and ``offsets_arcsec``, ``pixelscale``
    (arcsec per detector pixel), ``reference_pixel``, ``wavelength``.

    ``wavelength`` (metres) makes every point monochromatic there; ``source`` (a system's
    ``{'wavelengths':, 'weights':}``) gives the spectrum instead; a scene's own
    ``[source]`` is used otherwise. The system's own source offset is replaced by each
    point's.

    ``client``: a ``dask.distributed.Client``; the scene is sent to the workers once and the
    points computed there, one task each. The cube is the same, bit for bit, as the serial
    one.

    ``centre_stamps`` (True): each stamp centred on its source, as ``GriddedPSFModel``
    expects; False leaves each PSF at its offset in the stamp (POPPY's ``source_offset``).
    The system needs a detector either way.

    ``progressbar`` shows the points done (tqdm when installed, else a line on stderr).

    For ``GriddedPSFModel`` the points must form a rectangular lattice (every x with every
    y)."""
    from astropy.nddata import NDData

    scene, point_wavelength = _scene_of(system, wavelength, source)
    # The caller's setting, sent to dask workers with every point.
    precision = conf.precision
    points = _offsets(offsets)
    ref = _units.array(reference_pixel, "", "reference_pixel")
    if len(ref) != 2:
        raise ValueError("psf_grid: reference_pixel must be (x, y) detector pixels")
    # The first point in the caller's process: errors surface here, and its header gives
    # the pixel scales.
    with progress_bar(progressbar, len(points), "points") as tick:
        first = scene._compute(point_wavelength, points[0], centre_stamps, precision)
        if tick:
            tick()
        images = [first[0]]
        rest = points[1:]
        if rest and client is None:
            for p in rest:
                images.append(scene._compute(point_wavelength, p, centre_stamps, precision)[0])
                if tick:
                    tick()
        elif rest:
            [remote] = client.scatter([scene], broadcast=True)
            futures = client.map(
                _remote_point,
                rest,
                scene=remote,
                wavelength=point_wavelength,
                centre_stamps=centre_stamps,
                precision=precision,
                pure=False,
            )
            if tick:
                from distributed import as_completed

                for _ in as_completed(futures):
                    tick()
            images += client.gather(futures)
    cards = {key: value for key, value, _ in first[2]}
    det_cards = {key: value for key, value, _ in first[3]}
    oversampling = int(cards["OVERSAMP"])
    pixelscale = float(det_cards["PIXELSCL"])
    xypos = np.array([(ref[0] + x / pixelscale, ref[1] + y / pixelscale) for x, y in points])
    meta = {
        "grid_xypos": xypos,
        "oversampling": oversampling,
        "offsets_arcsec": np.array(points),
        "pixelscale": pixelscale,
        "reference_pixel": (ref[0], ref[1]),
        "centre_stamps": bool(centre_stamps),
        "wavelength": cards.get("WAVELEN"),
        "object": cards.get("OBJECT"),
    }
    return NDData(np.stack(images), meta=meta)


def read_psf_grid(path: PathLike) -> NDData:
    """The cube of ``diffract merge DIR -o PATH --format webbpsf`` as the ``NDData``
    ``psf_grid`` returns (read as photutils' ``GriddedPSFModel.read(path,
    format="webbpsf")`` reads it): ``data`` the cube, ``meta`` the header's keywords
    (lower case) with ``grid_xypos`` ``(x, y)`` from the ``DET_YX<i>`` ``"(y, x)"``
    strings and ``oversampling`` from ``OVERSAMP``."""
    from astropy.io import fits
    from astropy.nddata import NDData

    with fits.open(path) as hdul:
        header = hdul[0].header
        data = np.array(hdul[0].data, dtype=float)
    if "OVERSAMP" not in header or "DET_YX0" not in header:
        raise ValueError(f"{path}: not a WebbPSF-layout grid (no OVERSAMP or DET_YX0)")
    n = data.shape[0] if data.ndim == 3 else 1
    xypos = []
    for i in range(n):
        y, x = (float(v) for v in header[f"DET_YX{i}"].strip("()").split(","))
        xypos.append((x, y))
    meta = {key.lower(): header[key] for key in header if key not in ("COMMENT", "HISTORY", "")}
    meta["grid_xypos"] = np.array(xypos)
    meta["oversampling"] = int(header["OVERSAMP"])
    if "DETPXSCL" in header:
        meta["pixelscale"] = float(header["DETPXSCL"])
    return NDData(data if data.ndim == 3 else data[np.newaxis], meta=meta)
