"""POPPY's PSF displays (``poppy.utils.display_psf``, ``display_profiles``) drawn with
matplotlib, an optional dependency (``pip install "diffract[matplotlib]"``)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import astropy.units as u
import numpy as np
import numpy.typing as npt
from astropy.io import fits

from .utils import HDUListOrPath, _opened, measure_centroid, radial_profile

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colorbar import Colorbar
    from matplotlib.colors import Colormap

__all__ = ["display_profiles", "display_psf"]

# POPPY's default colormap (poppy.conf.cmap_sequential).
DEFAULT_CMAP = "gist_heat"
EE_LEVELS = (0.5, 0.8, 0.95)


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "diffract's displays need matplotlib: pip install matplotlib "
            '(or pip install "diffract[matplotlib]")'
        ) from None
    return plt


def _title(hdulist: fits.HDUList, ext: int | str, hdulist_or_filename: HDUListOrPath) -> str:
    """POPPY's default title: the header's instrument and filter, else the input."""
    header = hdulist[ext].header
    if "INSTRUME" in header and "FILTER" in header:
        return f"{header['INSTRUME']}, {header['FILTER']}"
    return str(hdulist_or_filename)


def _show_pixel_values(ax: Axes, image: npt.NDArray[np.float64], extent: Sequence[float]) -> None:
    """Report the pixel under the cursor in the status bar as ``(x, y) value``."""
    ny, nx = image.shape

    def format_coord(x: float, y: float) -> str:
        col = int(np.clip(np.floor((x - extent[0]) / (extent[1] - extent[0]) * nx), 0, nx - 1))
        row = int(np.clip(np.floor((y - extent[2]) / (extent[3] - extent[2]) * ny), 0, ny - 1))
        return f"({x:6.3f}, {y:6.3f})     {image[row, col]:<12.6g}"

    ax.format_coord = format_coord  # type: ignore[method-assign]


def display_psf(
    hdulist_or_filename: HDUListOrPath,
    ext: int | str = 0,
    vmin: float = 1e-7,
    vmax: float = 1e-1,
    scale: str = "log",
    cmap: str | Colormap | None = None,
    title: str | None = None,
    imagecrop: float | None = None,
    adjust_for_oversampling: bool = False,
    normalize: str = "None",
    crosshairs: bool = False,
    markcentroid: bool = False,
    colorbar: bool = True,
    colorbar_orientation: str = "vertical",
    pixelscale: str | float = "PIXELSCL",
    ax: Axes | None = None,
    return_ax: bool = False,
    interpolation: str | None = None,
    cube_slice: int | None = None,
    angular_coordinate_unit: u.UnitBase = u.arcsec,
) -> Axes | tuple[Axes, Colorbar] | None:
    """Draw a PSF image as POPPY 1.1.2's ``display_psf``, on ``ax`` (default the current
    axes): ``scale`` "log" (default) or "linear" between ``vmin`` and ``vmax``, centred on
    the array centre with axes in ``angular_coordinate_unit`` (arcsec), cropped to
    ``imagecrop`` (full width, same unit), with a colorbar and a title ("PSF sim for
    INSTRUME, FILTER" by default). ``normalize``: "peak", "total" or "None";
    ``adjust_for_oversampling`` multiplies by ``OVERSAMP`` squared; ``pixelscale`` is a
    header keyword or a number (arcsec/pixel); ``cube_slice`` picks the plane of a cube;
    ``crosshairs`` marks (0, 0) and ``markcentroid`` the centroid. Returns None, or with
    ``return_ax`` the axes and, with a colorbar, ``(ax, colorbar)``."""
    plt = _pyplot()
    import matplotlib.colors

    with _opened(hdulist_or_filename) as hdulist:
        hdu = hdulist[ext]
        data = hdu.data
        if data.ndim == 3:
            if cube_slice is None:
                raise ValueError("To display a PSF datacube, you must set cube_slice=<#>.")
            data = data[cube_slice]
        elif data.ndim != 2:
            raise RuntimeError("Unsupported image dimensionality.")
        image = np.array(data, dtype=np.float64)
        if adjust_for_oversampling:
            if "OVERSAMP" in hdu.header:
                image *= hdu.header["OVERSAMP"] ** 2
            else:
                warnings.warn(
                    "display_psf: no OVERSAMP keyword; the fluxes are not rescaled",
                    stacklevel=2,
                )
        if isinstance(pixelscale, str):
            pixelscale = hdu.header[pixelscale]
        pixelscale = float(pixelscale)
        if title is None:
            title = "PSF sim for " + _title(hdulist, ext, hdulist_or_filename)
        if markcentroid:
            centroid = measure_centroid(
                hdulist,
                ext=ext,
                slice=0 if cube_slice is None else cube_slice,
                units="arcsec",
                relativeto="center",
                boxsize=20,
            )

    mode = normalize.lower()
    if mode == "peak":
        image /= image.max()
    elif mode == "total":
        image /= image.sum()

    if scale == "linear":
        norm = matplotlib.colors.Normalize(vmin=vmin, vmax=vmax)
    else:
        norm = matplotlib.colors.LogNorm(vmin=vmin, vmax=vmax)

    to_unit = u.arcsec.to(angular_coordinate_unit)
    pixelscale *= to_unit
    half_x = pixelscale * image.shape[1] / 2.0
    half_y = pixelscale * image.shape[0] / 2.0
    extent = (-half_x, half_x, -half_y, half_y)

    if ax is None:
        ax = plt.gca()
    previous = ax.images[0].colorbar if ax.images else None
    picture = ax.imshow(
        image,
        extent=extent,
        cmap=DEFAULT_CMAP if cmap is None else cmap,
        norm=norm,
        interpolation=interpolation,
        origin="lower",
    )
    _show_pixel_values(ax, image, extent)
    ax.set_xlabel(str(angular_coordinate_unit))

    if markcentroid:
        y, x = centroid
        ax.plot(x * to_unit, y * to_unit, "k+", markersize=15, markeredgewidth=1)

    if imagecrop is not None:
        half_x = min(imagecrop / 2.0, half_x)
        half_y = min(imagecrop / 2.0, half_y)
    ax.set_xbound(-half_x, half_x)
    ax.set_ybound(-half_y, half_y)
    if crosshairs:
        ax.axhline(0, ls=":", color="k")
        ax.axvline(0, ls=":", color="k")
    ax.set_title(title)

    bar = None
    if colorbar:
        # Drawing again into the same axes reuses the colorbar's axes.
        cax = None if previous is None else previous.ax
        bar = ax.figure.colorbar(picture, ax=ax, cax=cax, orientation=colorbar_orientation)
        if scale.lower() == "log":
            ticks = np.logspace(
                np.log10(vmin), np.log10(vmax), int(np.round(np.log10(vmax / vmin) + 1))
            )
            if colorbar_orientation == "horizontal" and vmax == 1e-1 and vmin == 1e-8:
                ticks = np.array([1e-8, 1e-6, 1e-4, 1e-2, 1e-1])
            bar.set_ticks(ticks)  # type: ignore[arg-type]  # an array is accepted
            bar.set_ticklabels([f"{t:.6g}" for t in ticks])
        if mode == "peak":
            bar.set_label("Intensity relative to peak pixel")
        else:
            bar.set_label("Fractional intensity per pixel")

    if return_ax:
        return (ax, cast("Colorbar", bar)) if colorbar else ax
    return None


def display_profiles(
    hdulist_or_filename: HDUListOrPath | None = None,
    ext: int | str = 0,
    overplot: bool = False,
    title: str | None = None,
    **kwargs: Any,
) -> None:
    """Draw the radial profile (log scale, with its FWHM marked) above the encircled energy
    (with the radii of 50%, 80% and 95%) in the current figure, as POPPY 1.1.2's
    ``display_profiles``; ``kwargs`` go to :func:`radial_profile` (``center``,
    ``binsize``, ``maxradius``, ``normalize``, ``pa_range``, ``slice``). ``overplot``
    draws into the figure's two axes without clearing it. Returns None."""
    plt = _pyplot()
    for name in ("stddev", "mad", "custom_function"):
        if kwargs.get(name):
            raise NotImplementedError(
                f"display_profiles({name}=...): it draws the mean profile and its "
                "encircled energy only"
            )
    with _opened(hdulist_or_filename) as hdulist:
        radius, profile, ee = radial_profile(hdulist, ee=True, ext=ext, **kwargs)
        if title is None:
            title = _title(hdulist, ext, hdulist_or_filename)
    # The encircled energy is not cut at maxradius: keep the bins drawn.
    ee = ee[: len(radius)]

    if not overplot:
        plt.clf()
    top = plt.subplot(2, 1, 1)
    top.semilogy(radius, profile)
    if not overplot:
        top.set_title(title)
        top.set_ylabel("PSF radial profile")
    below_half = np.flatnonzero(profile < profile[0] * 0.5)
    if below_half.size:
        fwhm = 2 * radius[below_half[0]]
        top.text(fwhm, profile[0] * 0.5, f'FWHM = {fwhm:.3f}"')

    bottom = plt.subplot(2, 1, 2)
    bottom.plot(radius, ee, color="r")
    if not overplot:
        bottom.set_xlabel("Radius [arcsec]")
        bottom.set_ylabel("Encircled Energy")
    for level in EE_LEVELS:
        above = np.flatnonzero(ee > level)
        if above.size:
            at = radius[above[0]]
            offset = 0 if level < 0.9 else -0.05
            bottom.text(at + 0.1, level + offset, f'EE={int(level * 100):2d}% at r={at:.3f}"')
