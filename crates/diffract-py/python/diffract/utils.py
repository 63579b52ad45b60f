"""POPPY's measurements (``poppy.utils``) on PSF HDULists with POPPY 1.1.2's definitions:
``measure_ee``, ``measure_radius_at_ee``, ``measure_fwhm`` and ``measure_centroid``
computed by diffract's Rust ``measure`` module; ``radial_profile`` and
``measure_sharpness`` in numpy."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any, Callable, Union

import numpy as np
import numpy.typing as npt
from astropy.io import fits

from . import _diffract
from ._units import PathLike

#: A PSF: an astropy ``HDUList`` or the name of a FITS file.
HDUListOrPath = Union[fits.HDUList, PathLike]

__all__ = [
    "measure_centroid",
    "measure_ee",
    "measure_fwhm",
    "measure_radius_at_ee",
    "measure_sharpness",
    "radial_profile",
]


def _hdu(
    hdulist_or_filename: fits.HDUList | PathLike, ext: int | str, slice: int = 0
) -> tuple[npt.NDArray[np.float64], fits.Header]:
    """The image (float64, one slice of a cube) and the HDU's header."""
    if isinstance(hdulist_or_filename, (str, os.PathLike)):
        with fits.open(hdulist_or_filename) as hdul:
            return _hdu(hdul, ext, slice)
    if not isinstance(hdulist_or_filename, fits.HDUList):
        raise ValueError("input must be a filename or HDUlist")  # noqa: TRY004 (POPPY raises ValueError)
    hdu = hdulist_or_filename[ext]
    image = np.asarray(hdu.data, dtype=np.float64)
    if image.ndim == 3:
        image = image[slice]
    if image.ndim != 2:
        raise ValueError(f"the image must be 2-D (or a cube), got {image.ndim} dimensions")
    return np.ascontiguousarray(image), hdu.header


def _center(center: Sequence[float] | None) -> tuple[float, float] | None:
    return None if center is None else (float(center[0]), float(center[1]))


def _normalized(image: npt.NDArray[Any], normalize: str) -> npt.NDArray[Any]:
    mode = normalize.lower()
    if mode == "peak":
        return image / image.max()
    if mode == "total":
        return image / image.sum()
    return image


class _Curve:
    """A curve called like scipy's ``interp1d(..., bounds_error=False)``: NaN outside."""

    def __init__(self, curve: _diffract.EeCurve) -> None:
        self._curve = curve

    def __call__(self, x: npt.ArrayLike) -> Any:
        values = np.vectorize(self._curve.at, otypes=[float])(np.asarray(x, dtype=float))
        return values if values.ndim else values[()]


def _ee(
    hdulist_or_filename: fits.HDUList | PathLike,
    ext: int | str,
    center: Sequence[float] | None,
    binsize: float | None,
    normalize: str,
    inverse: bool,
) -> _Curve:
    image, header = _hdu(hdulist_or_filename, ext)
    image = _normalized(image, normalize)
    curve = _diffract.ee_curve(
        image,
        float(header["PIXELSCL"]),
        _center(center),
        None if binsize is None else float(binsize),
        inverse,
    )
    return _Curve(curve)


def measure_ee(
    hdulist_or_filename: fits.HDUList | PathLike | None = None,
    ext: int | str = 0,
    center: Sequence[float] | None = None,
    binsize: float | None = None,
    normalize: str = "None",
) -> Callable[[npt.ArrayLike], Any]:
    """Encircled energy against radius (arcsec), as a function (POPPY's ``measure_ee``):
    whole pixels summed in bins of ``binsize`` arcsec (default one pixel) about ``center``
    ``(x, y)`` pixels (default the array centre), interpolated by a cubic spline; NaN
    beyond the image. ``normalize``: "peak", "total" or "None" (keep the PSF's)."""
    return _ee(hdulist_or_filename, ext, center, binsize, normalize, inverse=False)


def measure_radius_at_ee(
    hdulist_or_filename: fits.HDUList | PathLike | None = None,
    ext: int | str = 0,
    center: Sequence[float] | None = None,
    binsize: float | None = None,
    normalize: str = "None",
) -> Callable[[npt.ArrayLike], Any]:
    """The radius (arcsec) holding a fraction of the energy, as a function (POPPY's
    ``measure_radius_at_ee``, the inverse of :func:`measure_ee`)."""
    return _ee(hdulist_or_filename, ext, center, binsize, normalize, inverse=True)


def measure_fwhm(
    hdulist_or_filename: fits.HDUList | PathLike,
    ext: int | str = 0,
    center: Sequence[float] | None = None,
    plot: bool = False,
    threshold: float = 0.1,
) -> float:
    """FWHM in arcsec (POPPY's ``measure_fwhm``): a Gaussian of fixed centre fitted to the
    pixels above ``threshold`` of the peak against their radius; NaN when it cannot be
    fitted."""
    if plot:
        raise NotImplementedError("measure_fwhm(plot=True): plotting is not available yet")
    image, header = _hdu(hdulist_or_filename, ext)
    return _diffract.fwhm(image, float(header["PIXELSCL"]), _center(center), float(threshold))


def measure_centroid(
    hdulist_or_filename: fits.HDUList | PathLike | None = None,
    ext: int | str = 0,
    slice: int = 0,
    boxsize: int = 20,
    verbose: bool = False,
    units: str = "pixels",
    relativeto: str = "origin",
) -> tuple[float, float]:
    """The floating-window centroid (POPPY's ``measure_centroid``) in (y, x) order: pixels
    from pixel (0, 0) (``relativeto="origin"``) or from the image centre (``"center"``),
    in ``units`` "pixels" or "arcsec"."""
    image, header = _hdu(hdulist_or_filename, ext, slice)
    x, y = _diffract.centroid(image, int(boxsize))
    if verbose:
        print(f"Center of mass: ({x:.4f}, {y:.4f})")
    yx = np.array([y, x])
    if relativeto == "center":
        yx = yx - np.array([(image.shape[0] - 1) / 2.0, (image.shape[1] - 1) / 2.0])
    if units == "arcsec":
        yx = yx * float(header["PIXELSCL"])
    return (float(yx[0]), float(yx[1]))


@contextlib.contextmanager
def _opened(hdulist_or_filename: HDUListOrPath) -> Iterator[fits.HDUList]:
    """The HDUList itself, or the file's, closed again on leaving."""
    if isinstance(hdulist_or_filename, fits.HDUList):
        yield hdulist_or_filename
    elif isinstance(hdulist_or_filename, (str, os.PathLike)):
        with fits.open(hdulist_or_filename) as hdul:
            yield hdul
    else:
        raise ValueError("input must be a filename or HDUlist")  # noqa: TRY004 (as POPPY)


def _bin_statistic(image, r_bins, binsize, radius, statistic):
    """POPPY's per-bin statistic: bin i holds the pixels of radius (arcsec) in
    ``[radius[i] - binsize/2, radius[i] + binsize/2)``, bin 0 those of radius in bins below
    ``radius[0] + binsize/2``; each bin's pixels in array order; NaN for an empty bin."""
    flat = image.ravel()
    by_radius = np.argsort(r_bins, axis=None, kind="stable")
    r_sorted = r_bins.ravel()[by_radius]
    # r * binsize is monotonic in r, so the same order sorts the radii in arcsec.
    arcsec_sorted = r_sorted * binsize
    results = np.zeros_like(radius)
    for i, centre in enumerate(radius):
        if i == 0:
            start = 0
            stop = np.searchsorted(r_sorted, centre + binsize / 2, side="left")
        else:
            start, stop = np.searchsorted(
                arcsec_sorted, [centre - binsize / 2, centre + binsize / 2], side="left"
            )
        members = np.sort(by_radius[start:stop])
        results[i] = statistic(flat[members]) if members.size else np.nan
    return results


def _median_absolute_deviation(pixels: npt.NDArray[Any]) -> Any:
    return np.nanmedian(np.absolute(pixels - np.nanmedian(pixels)))


def radial_profile(
    hdulist_or_filename: HDUListOrPath | None = None,
    ext: int | str = 0,
    ee: bool = False,
    center: Sequence[float] | None = None,
    stddev: bool = False,
    mad: bool = False,
    binsize: float | None = None,
    maxradius: float | None = None,
    normalize: str = "None",
    pa_range: Sequence[float] | None = None,
    slice: int = 0,
    custom_function: Callable[[npt.NDArray[Any]], Any] | None = None,
) -> tuple[npt.NDArray[np.float64], ...]:
    """The azimuthal mean of the image in radial bins, as POPPY 1.1.2's ``radial_profile``.

    Bins are ``binsize`` arcsec wide (default one pixel, ``PIXELSCL``) about ``center``
    ``(x, y)`` in pixels (default the array centre); a pixel belongs to bin
    ``floor(r / binsize)``. Returns ``(radius, profile)``, with ``radius`` the bin centres
    in arcsec, or with ``ee=True`` also the encircled energy: the running sum up to the
    outer edge of each bin (not cut by ``maxradius``). The outermost occupied bin is left
    out, and the radii count up from the innermost occupied bin one ``binsize`` at a time,
    as POPPY's. NaN pixels count as zero in the mean.

    ``stddev``, ``mad`` (median absolute deviation) or ``custom_function`` (a callable
    taking the pixel values of a bin) replace the mean and return ``(radius, values)``:
    bin i holds the whole image's pixels in ``[radius[i] - binsize/2, radius[i] +
    binsize/2)`` arcsec, except bin 0, which holds those whose radius in bins is below
    ``radius[0] + binsize/2`` (POPPY's rule, which for a centre between pixels is usually
    empty: NaN). ``normalize``: "peak", "total" or "None"; ``pa_range``: ``[min, max]``
    position angles in degrees (counterclockwise from +Y, -180 to 180) kept in the mean;
    ``slice``: the plane of a cube."""
    with _opened(hdulist_or_filename) as hdulist:
        hdu = hdulist[ext]
        data = hdu.data[slice] if hdu.header["NAXIS"] == 3 else hdu.data
        image = _normalized(np.array(data), normalize)
        pixelscale = hdu.header["PIXELSCL"]
    if binsize is None:
        binsize = pixelscale
    if center is None:
        center = ((image.shape[1] - 1) / 2.0, (image.shape[0] - 1) / 2.0)
    yy, xx = np.indices(image.shape, dtype=float)
    dx = xx - center[0]
    dy = yy - center[1]
    r_bins = np.sqrt(dx**2 + dy**2) * pixelscale / binsize  # radius in bins

    if pa_range is None:
        r_used, values = r_bins.ravel(), image.ravel()
    else:
        pa = np.rad2deg(np.arctan2(-dx, dy))  # astronomical position angle, from +Y
        keep = (pa >= pa_range[0]) & (pa <= pa_range[1])
        r_used, values = r_bins[keep], image[keep]
    if r_used.size == 0:
        raise ValueError(f"no pixel has a position angle in pa_range {pa_range}")
    order = np.argsort(r_used)
    bins = r_used[order].astype(int)
    running = np.nan_to_num(values[order]).cumsum(dtype=float)
    # The last sorted index of every occupied bin but the outermost.
    ends = np.flatnonzero(bins[1:] != bins[:-1])
    totals = running[ends]
    profile = np.diff(totals, prepend=0.0) / np.diff(ends, prepend=-1)
    first = bins[0]
    radius = np.arange(first, first + len(profile)) * binsize + binsize * 0.5
    if maxradius is not None:
        inside = radius < maxradius
        radius, profile = radius[inside], profile[inside]

    if stddev:
        return radius, _bin_statistic(image, r_bins, binsize, radius, np.nanstd)
    if mad:
        return radius, _bin_statistic(image, r_bins, binsize, radius, _median_absolute_deviation)
    if custom_function is not None:
        return radius, _bin_statistic(image, r_bins, binsize, radius, custom_function)
    if ee:
        return radius, profile, totals
    return radius, profile


def measure_sharpness(
    hdulist_or_filename: HDUListOrPath | None = None, ext: int | str = 0
) -> float:
    """Image sharpness, the sum of the squared pixel values of the detector-sampled PSF
    (extension ``DET_SAMP``), as POPPY 1.1.2's ``measure_sharpness`` (``ext`` is not
    used, as in POPPY). ValueError without a ``DET_SAMP`` extension."""
    with _opened(hdulist_or_filename) as hdulist:
        try:
            detector = hdulist["DET_SAMP"]
        except KeyError:
            raise ValueError(
                "measure_sharpness needs the detector-sampled PSF, extension DET_SAMP"
            ) from None
        return (detector.data**2).sum()
