"""POPPY's measurements (``poppy.utils``) on PSF HDULists, computed by diffract's Rust
``measure`` module with POPPY 1.1.2's definitions: ``measure_ee``,
``measure_radius_at_ee``, ``measure_fwhm``, ``measure_centroid``."""

import numpy as np
from astropy.io import fits

from . import _diffract

__all__ = ["measure_centroid", "measure_ee", "measure_fwhm", "measure_radius_at_ee"]


def _hdu(hdulist_or_filename, ext, slice=0):
    """The image (float64, one slice of a cube) and the HDU's header."""
    if isinstance(hdulist_or_filename, str):
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


def _center(center):
    return None if center is None else (float(center[0]), float(center[1]))


def _normalized(image, normalize):
    mode = normalize.lower()
    if mode == "peak":
        return image / image.max()
    if mode == "total":
        return image / image.sum()
    return image


class _Curve:
    """A curve called like scipy's ``interp1d(..., bounds_error=False)``: NaN outside."""

    def __init__(self, curve):
        self._curve = curve

    def __call__(self, x):
        values = np.vectorize(self._curve.at, otypes=[float])(np.asarray(x, dtype=float))
        return values if values.ndim else values[()]


def _ee(hdulist_or_filename, ext, center, binsize, normalize, inverse):
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


def measure_ee(hdulist_or_filename=None, ext=0, center=None, binsize=None, normalize="None"):
    """Encircled energy against radius (arcsec), as a function (POPPY's ``measure_ee``):
    whole pixels summed in bins of ``binsize`` arcsec (default one pixel) about ``center``
    ``(x, y)`` pixels (default the array centre), interpolated by a cubic spline; NaN
    beyond the image. ``normalize``: "peak", "total" or "None" (keep the PSF's)."""
    return _ee(hdulist_or_filename, ext, center, binsize, normalize, inverse=False)


def measure_radius_at_ee(
    hdulist_or_filename=None, ext=0, center=None, binsize=None, normalize="None"
):
    """The radius (arcsec) holding a fraction of the energy, as a function (POPPY's
    ``measure_radius_at_ee``, the inverse of :func:`measure_ee`)."""
    return _ee(hdulist_or_filename, ext, center, binsize, normalize, inverse=True)


def measure_fwhm(hdulist_or_filename, ext=0, center=None, plot=False, threshold=0.1):
    """FWHM in arcsec (POPPY's ``measure_fwhm``): a Gaussian of fixed centre fitted to the
    pixels above ``threshold`` of the peak against their radius; NaN when it cannot be
    fitted."""
    if plot:
        raise NotImplementedError("measure_fwhm(plot=True): plotting is not available yet")
    image, header = _hdu(hdulist_or_filename, ext)
    return _diffract.fwhm(image, float(header["PIXELSCL"]), _center(center), float(threshold))


def measure_centroid(
    hdulist_or_filename=None,
    ext=0,
    slice=0,
    boxsize=20,
    verbose=False,
    units="pixels",
    relativeto="origin",
):
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
