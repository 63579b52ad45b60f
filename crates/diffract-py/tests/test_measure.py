"""POPPY's measurements (measure_ee, measure_radius_at_ee, measure_fwhm,
measure_centroid) by diffract on POPPY 1.1.2's reference PSFs, against POPPY's own numbers
on the same files (data/measurements.json, made by data/make_reference.py).

Tolerances, as the Rust measure tests' (docs/poppy-mapping.md): encircled energy and
radius at EE 1e-9 relative, FWHM 1e-5 relative (POPPY's Levenberg-Marquardt stops there),
centroid 0.01 pixel."""

import json
from pathlib import Path

import diffract
import numpy as np
import pytest
from astropy.io import fits
from tutorial_scripts import EE_FRACTIONS, EE_RADII

DATA = Path(__file__).parent / "data"
with open(DATA / "measurements.json") as f:
    POPPY = json.load(f)["measurements"]


@pytest.fixture(params=sorted(POPPY))
def case(request):
    name = request.param
    with fits.open(DATA / f"{name}.fits") as hdul:
        hdul = fits.HDUList([fits.PrimaryHDU(hdul[0].data.copy(), hdul[0].header.copy())])
    return hdul, POPPY[name]


def test_measure_ee(case):
    hdul, poppy = case
    ee = diffract.measure_ee(hdul)
    np.testing.assert_allclose([ee(r) for r in EE_RADII], poppy["ee"], rtol=1e-9)
    # Arrays in, arrays out, as scipy's interp1d.
    np.testing.assert_allclose(ee(np.array(EE_RADII)), poppy["ee"], rtol=1e-9)


def test_measure_radius_at_ee(case):
    hdul, poppy = case
    radius_at = diffract.measure_radius_at_ee(hdul)
    np.testing.assert_allclose(
        [radius_at(f) for f in EE_FRACTIONS], poppy["radius_at_ee"], rtol=1e-9
    )


def test_measure_fwhm(case):
    hdul, poppy = case
    assert diffract.measure_fwhm(hdul) == pytest.approx(poppy["fwhm"], rel=1e-5)


def test_measure_centroid(case):
    hdul, poppy = case
    np.testing.assert_allclose(diffract.measure_centroid(hdul), poppy["centroid"], atol=0.01)
    scale = hdul[0].header["PIXELSCL"]
    np.testing.assert_allclose(
        diffract.measure_centroid(hdul, units="arcsec", relativeto="center"),
        poppy["centroid_center_arcsec"],
        atol=0.01 * scale,
    )


def test_measure_from_a_file_name(tmp_path):
    hdul = fits.open(DATA / "obscured_zernike.fits")
    path = tmp_path / "psf.fits"
    hdul.writeto(path)
    assert diffract.measure_fwhm(str(path)) == pytest.approx(
        POPPY["obscured_zernike"]["fwhm"], rel=1e-5
    )


def test_ee_beyond_the_image_is_nan():
    hdul = fits.open(DATA / "obscured_zernike.fits")
    assert np.isnan(diffract.measure_ee(hdul)(100.0))
