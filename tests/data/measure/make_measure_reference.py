"""Reference PSFs and POPPY 1.1.2's measurements of them, for tests/measure.rs.

usage: python make_measure_reference.py   (writes into the folder of this script)

Writes small PSF FITS files (POPPY's Airy, obscured, offset and edge-clipped PSFs, Gaussian
arrays of odd and even sizes), and reference.json with what poppy.utils measures on each
file as written: measure_fwhm, measure_fwhm_radprof, measure_centroid, measure_ee,
measure_radius_at_ee, radial_profile (mean, EE, stddev; a coarser bin; a position-angle
range). Also two PSFs for parity: a 4-sided NgonAperture whose edges pass through pixel
centres (ngon4.toml), and a FITSOpticalElement as first optic with no npix given
(fits_first.toml with fits_first_pupil.fits).
"""

import json
import os
import warnings

import numpy as np
import poppy
from astropy.io import fits
from poppy import utils

poppy.conf.use_multiprocessing = False
poppy.conf.use_fftw = False
warnings.simplefilter("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))


def airy(name, npix_det, pixelscale, obscured=False, offset_r=0.0, offset_theta=0.0):
    """A 2 m pupil at 1 um (optionally with a secondary and spiders) on a small detector."""
    osys = poppy.OpticalSystem(npix=128, oversample=2)
    osys.add_pupil(poppy.CircularAperture(radius=1.0))
    if obscured:
        osys.add_pupil(
            poppy.SecondaryObscuration(
                secondary_radius=0.35, n_supports=4, support_width=0.04
            )
        )
    osys.add_detector(pixelscale=pixelscale, fov_pixels=npix_det, oversample=1)
    osys.source_offset_r = offset_r
    osys.source_offset_theta = offset_theta
    hdul = osys.calc_psf(wavelength=1e-6, display=False)
    write(name, hdul[0].data, hdul[0].header["PIXELSCL"])


def gaussian(name, n, fwhm_px, center, pixelscale=0.02):
    sigma = fwhm_px / (2 * np.sqrt(2 * np.log(2)))
    y, x = np.indices((n, n), dtype=float)
    data = np.exp(-((x - center[0]) ** 2 + (y - center[1]) ** 2) / (2 * sigma**2))
    write(name, data / data.sum(), pixelscale)


def write(name, data, pixelscale):
    hdu = fits.PrimaryHDU(np.asarray(data, dtype=np.float64))
    hdu.header["PIXELSCL"] = pixelscale
    hdu.writeto(os.path.join(HERE, name + ".fits"), overwrite=True)


def centroid_xy(hdul, pad=0, boxsize=20):
    """POPPY's measure_centroid as (x, y); with pad > 0, of the image zero-padded by pad
    pixels on every side (so its box never leaves the data), shifted back. None where
    POPPY's box leaves the array past its last row or column (an IndexError in POPPY)."""
    data = hdul[0].data
    if pad:
        padded = fits.HDUList([fits.PrimaryHDU(np.pad(data, pad))])
        padded[0].header["PIXELSCL"] = hdul[0].header["PIXELSCL"]
        cy, cx = utils.measure_centroid(padded, boxsize=boxsize)
        return [float(cx) - pad, float(cy) - pad]
    try:
        cy, cx = utils.measure_centroid(hdul, boxsize=boxsize)
    except IndexError:
        return None
    return [float(cx), float(cy)]


def measure(name, center=None, pa_range=(-45.0, 45.0)):
    path = os.path.join(HERE, name + ".fits")
    hdul = fits.open(path)
    scale = hdul[0].header["PIXELSCL"]
    out = {"file": name + ".fits", "pixelscale": scale, "center": center}
    out["fwhm"] = float(utils.measure_fwhm(hdul, center=center))
    out["fwhm_radprof"] = float(
        utils.measure_fwhm_radprof(hdul, center=center, nowarn=True)
    )
    # POPPY's default box (half width 20) and a small one (8) that fits in these arrays;
    # where the box leaves the array at the low side POPPY wraps round (numpy's negative
    # indices), so the zero-padded figure is the one for "nothing beyond the array".
    out["centroid"] = centroid_xy(hdul)
    out["centroid_box8"] = centroid_xy(hdul, boxsize=8)
    out["centroid_zero_padded"] = centroid_xy(hdul, pad=40)
    radii = [r * scale for r in (1.5, 3.0, 5.0, 8.0, 12.0)]
    fractions = [0.3, 0.5, 0.8]
    ee = utils.measure_ee(hdul, center=center)
    out["ee_radii"] = radii
    out["ee"] = [float(ee(r)) for r in radii]
    out["ee_fractions"] = fractions
    try:
        rad = utils.measure_radius_at_ee(hdul, center=center)
        out["radius_at_ee"] = [float(rad(f)) for f in fractions]
    except ValueError:  # the EE curve has equal values (a Gaussian's wings add nothing)
        out["radius_at_ee"] = None
    rr, mean, cum = utils.radial_profile(hdul, ee=True, center=center)
    _, std = utils.radial_profile(hdul, stddev=True, center=center)
    out["profile"] = {
        "radius": rr.tolist(),
        "mean": mean.tolist(),
        "ee": cum.tolist(),
        "stddev": std.tolist(),
    }
    bins = 2.5 * scale
    rr, mean, cum = utils.radial_profile(hdul, ee=True, center=center, binsize=bins)
    _, std = utils.radial_profile(hdul, stddev=True, center=center, binsize=bins)
    out["profile_binsize"] = {
        "binsize": bins,
        "radius": rr.tolist(),
        "mean": mean.tolist(),
        "ee": cum.tolist(),
        "stddev": std.tolist(),
    }
    rr, mean = utils.radial_profile(hdul, center=center, pa_range=list(pa_range))
    out["profile_pa"] = {
        "pa_range": list(pa_range),
        "radius": rr.tolist(),
        "mean": mean.tolist(),
    }
    return out


def ngon_case():
    """POPPY's 4-gon of radius 1 m (default rotation) on 128 pixels, 2 m across, so its edges
    x +- y = +-1 m pass through pixel centres."""
    osys = poppy.OpticalSystem(npix=128, oversample=1)
    osys.add_pupil(poppy.NgonAperture(nsides=4, radius=1.0))
    osys.add_detector(pixelscale=0.02, fov_pixels=32)
    hdul = osys.calc_psf(wavelength=1e-6, display=False)
    fits.HDUList([fits.PrimaryHDU(hdul[0].data, hdul[0].header)]).writeto(
        os.path.join(HERE, "ngon4_poppy.fits"), overwrite=True
    )


def fits_first_case():
    """A 64-pixel pupil file (2.4 m, obscured, one spider) as the first optic, no npix."""
    n, scale = 64, 0.0375
    y, x = (np.indices((n, n), dtype=float) - (n - 1) / 2) * scale
    r = np.hypot(x, y)
    t = ((r <= 1.15) & (r >= 0.3) & ~((np.abs(y) < 0.03) & (x > 0))).astype(np.float32)
    hdu = fits.PrimaryHDU(t)
    hdu.header["PIXELSCL"] = scale
    path = os.path.join(HERE, "fits_first_pupil.fits")
    hdu.writeto(path, overwrite=True)
    osys = poppy.OpticalSystem(oversample=1)
    osys.add_pupil(
        poppy.FITSOpticalElement(
            transmission=path, planetype=poppy.poppy_core.PlaneType.pupil
        )
    )
    osys.add_detector(pixelscale=0.02, fov_pixels=32)
    hdul = osys.calc_psf(wavelength=1e-6, display=False)
    fits.HDUList([fits.PrimaryHDU(hdul[0].data, hdul[0].header)]).writeto(
        os.path.join(HERE, "fits_first_poppy.fits"), overwrite=True
    )


def main():
    airy("airy_fine_odd", 47, 0.01)
    airy("airy_fine_even", 48, 0.01)
    airy("airy_coarse_even", 32, 0.05)
    airy("airy_coarse_odd", 33, 0.05)
    airy("obscured_odd", 41, 0.015, obscured=True)
    airy("obscured_even", 32, 0.02, obscured=True)
    airy("airy_offset", 48, 0.01, offset_r=0.083, offset_theta=35.0)
    airy("airy_edge_low", 48, 0.01, offset_r=0.18, offset_theta=80.0)
    airy("airy_edge_high", 48, 0.01, offset_r=0.19, offset_theta=-100.0)
    gaussian("gauss_even", 40, 5.0, (19.5, 19.5))
    gaussian("gauss_odd", 31, 3.0, (15.0, 15.0))
    gaussian("gauss_offset", 40, 4.5, (19.5, 21.25))
    cases = {}
    for name in [
        "airy_fine_odd",
        "airy_fine_even",
        "airy_coarse_even",
        "airy_coarse_odd",
        "obscured_odd",
        "obscured_even",
        "gauss_even",
        "gauss_odd",
    ]:
        cases[name] = measure(name)
    # Off-centre sources: radii about a given centre, as POPPY's tests do.
    cases["gauss_offset"] = measure("gauss_offset", center=(19.5, 21.25))
    for name in ["airy_offset", "airy_edge_low", "airy_edge_high"]:
        hdul = fits.open(os.path.join(HERE, name + ".fits"))
        cx, cy = centroid_xy(hdul, pad=40)
        cases[name] = measure(name, center=(round(cx, 3), round(cy, 3)))
    ngon_case()
    fits_first_case()
    ref = {"poppy_version": poppy.__version__, "cases": cases}
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
        f.write("\n")
    for name, c in cases.items():
        print(
            f"{name:18s} fwhm {c['fwhm']:.5f} radprof {c['fwhm_radprof']:.5f} "
            f"centroid {c['centroid']} box8 {c['centroid_box8']} padded {c['centroid_zero_padded']}"
        )


if __name__ == "__main__":
    main()
