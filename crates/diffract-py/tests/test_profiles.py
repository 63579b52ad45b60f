"""radial_profile, measure_sharpness, display_psf and display_profiles.

Numerical references: POPPY 1.1.2's radial_profile and measure_sharpness on POPPY's own
PSFs (data/profiles.json, made by data/make_profiles.py, whose cases and helpers are used
here). Both compute the same sums in the same order, so the tolerance is 1e-12 relative
(seen: equal to the last bit); the radii, made from the same few operations, 1e-14.
Display references: POPPY's layout (extent PIXELSCL * shape / 2 either side of the centre,
LogNorm between vmin and vmax, decade colorbar ticks, labels) and, for display_profiles,
the texts POPPY 1.1.2 draws for data/obscured_zernike.fits."""

import importlib.util
import json
import sys
from pathlib import Path

import astropy.units as u
import diffract
import numpy as np
import pytest
from astropy.io import fits

DATA = Path(__file__).parent / "data"
with open(DATA / "profiles.json") as f:
    REFERENCE = json.load(f)
with open(DATA / "measurements.json") as f:
    MEASUREMENTS = json.load(f)["measurements"]

_spec = importlib.util.spec_from_file_location("make_profiles", DATA / "make_profiles.py")
make_profiles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_profiles)

PROFILE_RTOL = 1e-12  # POPPY's profile, EE, sums and sharpness
RADIUS_RTOL = 1e-14  # POPPY's bin radii


def load(name):
    with fits.open(DATA / f"{name}.fits") as hdul:
        return fits.HDUList([fits.PrimaryHDU(hdul[0].data.copy(), hdul[0].header.copy())])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # empty or all-NaN bins, as POPPY's
@pytest.mark.parametrize("key", sorted(REFERENCE["radial_profile"]))
def test_radial_profile_matches_poppy(key):
    name, case = key.split("/")
    poppy = REFERENCE["radial_profile"][key]
    hdul, kwargs = make_profiles.call_arguments(make_profiles.CASES[case], load(name))
    result = diffract.radial_profile(hdul, **kwargs)
    names = ["radius", "profile", "ee"] if "ee_len" in poppy else ["radius", "profile"]
    assert len(result) == len(names), f"{key}: POPPY returns {len(names)} arrays"
    assert len(result[0]) == poppy["n"], f"{key}: number of bins, POPPY's {poppy['n']}"
    for quantity, ours in zip(names, result):
        rtol = RADIUS_RTOL if quantity == "radius" else PROFILE_RTOL
        ours = np.asarray(ours, dtype=float)
        assert len(ours) == poppy[f"{quantity}_len"], f"{key}: length of {quantity}, POPPY's"
        np.testing.assert_allclose(
            ours[: len(poppy[quantity])],
            poppy[quantity],
            rtol=rtol,
            atol=0,
            err_msg=f"{key}: {quantity} against POPPY 1.1.2 (profiles.json), rtol {rtol}",
        )
        np.testing.assert_allclose(
            [ours[-1], np.nansum(ours)],
            [poppy[f"{quantity}_last"], poppy[f"{quantity}_nansum"]],
            rtol=rtol,
            atol=0,
            err_msg=f"{key}: last {quantity} and sum against POPPY 1.1.2, rtol {rtol}",
        )


@pytest.mark.parametrize("name", sorted(REFERENCE["measure_sharpness"]))
def test_measure_sharpness_matches_poppy(name):
    hdul = make_profiles.with_det_samp(load(name))
    poppy = REFERENCE["measure_sharpness"][name]
    assert diffract.measure_sharpness(hdul) == pytest.approx(poppy, rel=PROFILE_RTOL, abs=0), (
        f"{name}: sharpness against POPPY 1.1.2 (profiles.json), rel {PROFILE_RTOL}"
    )


def test_measure_sharpness_needs_det_samp():
    with pytest.raises(ValueError, match="DET_SAMP"):
        diffract.measure_sharpness(load("obscured_zernike"))


def test_measure_sharpness_of_calc_psf():
    # By definition: the sum of the squared DET_SAMP pixels of diffract's own PSF.
    osys = diffract.OpticalSystem(npix=64, oversample=2)
    osys.add_pupil(diffract.CircularAperture(radius=1.0))
    osys.add_detector(pixelscale=0.05, fov_pixels=16)
    hdul = osys.calc_psf(1e-6)
    det = hdul["DET_SAMP"].data
    assert diffract.measure_sharpness(hdul) == pytest.approx(np.sum(det * det), rel=1e-14)


def test_radial_profile_from_a_file_name(tmp_path):
    path = tmp_path / "psf.fits"
    load("segmented_spiders").writeto(path)
    poppy = REFERENCE["radial_profile"]["segmented_spiders/ee"]
    _, profile, ee = diffract.radial_profile(str(path), ee=True)
    np.testing.assert_allclose(profile[:30], poppy["profile"], rtol=PROFILE_RTOL, atol=0)
    np.testing.assert_allclose(ee[:30], poppy["ee"], rtol=PROFILE_RTOL, atol=0)


def test_radial_profile_counts_nan_pixels_as_zero():
    # POPPY's rule (NaN counted as 0 in the bin's mean): the same profile as with a zero.
    hdul = load("obscured_zernike")
    zero = hdul[0].data.copy()
    zero[64, 70] = 0.0
    nan = zero.copy()
    nan[64, 70] = np.nan
    with_zero = diffract.radial_profile(fits.HDUList([fits.PrimaryHDU(zero, hdul[0].header)]))
    with_nan = diffract.radial_profile(fits.HDUList([fits.PrimaryHDU(nan, hdul[0].header)]))
    np.testing.assert_array_equal(with_nan[1], with_zero[1])


def test_radial_profile_refuses_other_inputs():
    with pytest.raises(ValueError, match="filename or HDUlist"):
        diffract.radial_profile(np.ones((8, 8)))


# Displays ----------------------------------------------------------------------------------


@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib import pyplot

    pyplot.close("all")
    yield pyplot
    pyplot.close("all")


def test_display_psf_draws_the_image_in_arcsec_with_a_colorbar(plt):
    hdul = load("obscured_zernike")
    assert diffract.display_psf(hdul) is None  # POPPY returns nothing by default
    figure = plt.gcf()
    assert len(figure.axes) == 2, "the image and its colorbar"
    ax = figure.axes[0]
    (image,) = ax.images
    half = hdul[0].header["PIXELSCL"] * 130 / 2  # POPPY's extent: 1.0075 arcsec
    np.testing.assert_allclose(image.get_extent(), [-half, half, -half, half], rtol=1e-15)
    np.testing.assert_allclose(ax.get_xlim(), (-half, half), rtol=1e-15)
    np.testing.assert_array_equal(image.get_array(), hdul[0].data)
    assert image.origin == "lower"
    assert image.get_cmap().name == "gist_heat"
    norm = image.norm
    assert type(norm).__name__ == "LogNorm" and (norm.vmin, norm.vmax) == (1e-7, 1e-1)
    assert image.colorbar is not None and image.colorbar.ax is figure.axes[1]
    np.testing.assert_allclose(image.colorbar.get_ticks(), 10.0 ** np.arange(-7, 0), rtol=1e-12)
    assert image.colorbar.ax.get_ylabel() == "Fractional intensity per pixel"
    assert ax.get_xlabel() == "arcsec"
    assert ax.get_title() == f"PSF sim for {hdul}"


def test_display_psf_options(plt):
    hdul = load("segmented_spiders")
    hdul[0].header["INSTRUME"] = "NIRCam"
    hdul[0].header["FILTER"] = "F200W"
    ax, bar = diffract.display_psf(
        hdul,
        normalize="peak",
        scale="linear",
        vmin=0,
        vmax=1,
        imagecrop=500,  # in the display unit, as POPPY's
        adjust_for_oversampling=True,
        angular_coordinate_unit=u.mas,
        crosshairs=True,
        markcentroid=True,
        return_ax=True,
        cmap="viridis",
    )
    (image,) = ax.images
    half = 0.01 * 128 / 2 * 1000  # mas
    np.testing.assert_allclose(image.get_extent(), [-half, half, -half, half], rtol=1e-14)
    np.testing.assert_allclose(ax.get_xlim(), (-250, 250), rtol=1e-14)  # imagecrop 500 mas
    np.testing.assert_allclose(ax.get_ylim(), (-250, 250), rtol=1e-14)
    data = hdul[0].data
    np.testing.assert_allclose(image.get_array(), data / data.max(), rtol=1e-15)
    assert type(image.norm).__name__ == "Normalize"
    assert image.get_cmap().name == "viridis"
    assert bar.ax.get_ylabel() == "Intensity relative to peak pixel"
    assert ax.get_xlabel() == "mas"
    assert ax.get_title() == "PSF sim for NIRCam, F200W"
    # Crosshairs (two lines) and the centroid (POPPY's, measurements.json) in mas.
    marker = [line for line in ax.lines if line.get_marker() == "+"]
    assert len(ax.lines) == 3 and len(marker) == 1
    y, x = MEASUREMENTS["segmented_spiders"]["centroid_center_arcsec"]
    np.testing.assert_allclose(
        [marker[0].get_xdata()[0], marker[0].get_ydata()[0]], [x * 1000, y * 1000], atol=0.1
    )


def test_display_psf_oversampling_cube_and_redraw(plt):
    hdul = load("obscured_zernike")
    data = hdul[0].data
    diffract.display_psf(hdul, adjust_for_oversampling=True)
    np.testing.assert_allclose(plt.gca().images[0].get_array(), data * 4, rtol=1e-15)
    # Drawing again into the same axes reuses the colorbar axes.
    cube = fits.HDUList([fits.PrimaryHDU(np.stack([data, data.T]), hdul[0].header)])
    ax, _ = diffract.display_psf(
        cube, cube_slice=1, return_ax=True, colorbar_orientation="vertical"
    )
    assert len(plt.gcf().axes) == 2
    np.testing.assert_array_equal(ax.images[-1].get_array(), data.T)
    with pytest.raises(ValueError, match="cube_slice"):
        diffract.display_psf(cube)
    assert diffract.display_psf(hdul, colorbar=False, return_ax=True) is ax


def test_display_profiles_draws_profile_and_encircled_energy(plt):
    hdul = load("obscured_zernike")
    assert diffract.display_profiles(hdul) is None
    figure = plt.gcf()
    assert len(figure.axes) == 2, "the profile above the encircled energy"
    top, bottom = figure.axes
    assert top.get_position().y0 > bottom.get_position().y0
    poppy = REFERENCE["radial_profile"]["obscured_zernike/ee"]
    (profile,) = top.lines
    assert top.get_yscale() == "log"
    assert len(profile.get_xdata()) == poppy["n"]
    np.testing.assert_allclose(profile.get_xdata()[:10], poppy["radius"], rtol=RADIUS_RTOL)
    np.testing.assert_allclose(profile.get_ydata()[:30], poppy["profile"], rtol=PROFILE_RTOL)
    (ee,) = bottom.lines
    np.testing.assert_allclose(ee.get_ydata()[:30], poppy["ee"], rtol=PROFILE_RTOL)
    assert ee.get_color() == "r"
    # The texts POPPY 1.1.2's display_profiles draws for this file.
    assert [t.get_text() for t in top.texts] == ['FWHM = 0.078"']
    assert [t.get_text() for t in bottom.texts] == [
        'EE=50% at r=0.039"',
        'EE=80% at r=0.116"',
    ]
    assert top.get_title() == str(hdul)
    assert top.get_ylabel() == "PSF radial profile"
    assert bottom.get_ylabel() == "Encircled Energy"
    assert bottom.get_xlabel() == "Radius [arcsec]"

    # Overplotting adds a curve to each axes; maxradius crops both.
    diffract.display_profiles(hdul, overplot=True, maxradius=0.5)
    assert len(figure.axes) == 2
    assert [len(a.lines) for a in figure.axes] == [2, 2]
    n = REFERENCE["radial_profile"]["obscured_zernike/maxradius"]["n"]
    assert [len(a.lines[1].get_xdata()) for a in figure.axes] == [n, n]
    with pytest.raises(NotImplementedError, match="stddev"):
        diffract.display_profiles(hdul, stddev=True)


def test_displays_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    for display in (diffract.display_psf, diffract.display_profiles):
        with pytest.raises(ImportError, match="pip install matplotlib"):
            display(load("obscured_zernike"))
