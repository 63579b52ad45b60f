"""The POPPY-named API: arguments, units, defaults, the HDUList layout and the GIL.

Numerical references: the PSF of the same system built with floats (units) or through the
scene text the command line reads (describe); sums and shapes by construction."""

import threading
import time

import astropy.units as u
import diffract
import numpy as np
import pytest
from astropy.io import fits


def small_system(**kwargs):
    osys = diffract.OpticalSystem(name="small", npix=64, oversample=2, **kwargs)
    osys.add_pupil(diffract.CircularAperture(radius=1.0))
    osys.add_detector(pixelscale=0.05, fov_pixels=16)
    return osys


def test_version():
    assert isinstance(diffract.__version__, str) and diffract.__version__


def test_calc_psf_returns_poppy_layout():
    hdul = small_system().calc_psf(1e-6)
    assert isinstance(hdul, fits.HDUList)
    assert [h.name for h in hdul] == ["OVERSAMP", "DET_SAMP"]
    assert hdul[0].data.shape == (32, 32)
    assert hdul["DET_SAMP"].data.shape == (16, 16)
    h = hdul[0].header
    assert h["OBJECT"] == "small"
    assert h["WAVELEN"] == pytest.approx(1e-6, rel=1e-15)
    assert h["PIXELSCL"] == pytest.approx(0.025, rel=1e-15)
    assert h["OVERSAMP"] == 2 and h["DET_SAMP"] == 2
    assert h["NWAVES"] == 1 and h["NORMALIZ"] == "first"
    assert hdul["DET_SAMP"].header["CALCSAMP"] == 2
    assert hdul[0].data.dtype == np.float64


@pytest.mark.parametrize("wavelength", [1e-6, 1 * u.micron, 1000 * u.nm, [1e-6]])
def test_wavelength_in_metres_or_quantity(wavelength):
    ref = small_system().calc_psf(1e-6)[0].data
    # 1000 nm is 1e-6 m to within the last bit.
    np.testing.assert_allclose(small_system().calc_psf(wavelength)[0].data, ref, rtol=1e-12)


def test_quantities_equal_floats():
    def build(radius, secondary, width, pixelscale):
        osys = diffract.OpticalSystem(npix=64)
        osys.add_pupil(diffract.CircularAperture(radius=radius))
        osys.add_pupil(
            diffract.SecondaryObscuration(secondary_radius=secondary, support_width=width)
        )
        osys.add_detector(pixelscale=pixelscale, fov_arcsec=1.0)
        return osys.calc_psf(1e-6)[0].data

    floats = build(1.0, 0.25, 0.02, 0.05)
    quantities = build(100 * u.cm, 250 * u.mm, 2 * u.cm, 50 * u.mas / u.pixel)
    np.testing.assert_array_equal(floats, quantities)


def test_source_dict_and_weights():
    osys = small_system()
    a = osys.calc_psf(source={"wavelengths": [1e-6, 1.2e-6], "weights": [1, 3]})
    b = osys.calc_psf(wavelength=[1e-6, 1.2e-6] * u.m, weight=[0.25, 0.75])
    np.testing.assert_array_equal(a[0].data, b[0].data)
    h = a[0].header
    assert h["NWAVES"] == 2
    assert h["WGHT0"] == pytest.approx(0.25) and h["WGHT1"] == pytest.approx(0.75)
    mono = [osys.calc_psf(w)[0].data for w in (1e-6, 1.2e-6)]
    np.testing.assert_allclose(a[0].data, 0.25 * mono[0] + 0.75 * mono[1], rtol=1e-12)


def test_normalize_last_sums_to_one():
    hdul = small_system().calc_psf(1e-6, normalize="last")
    assert hdul[0].header["NORMALIZ"] == "last"
    assert hdul[0].data.sum() == pytest.approx(1.0, rel=1e-12)
    first = small_system().calc_psf(1e-6)[0].data
    assert first.sum() < 1.0


def test_rectangular_detector():
    osys = diffract.OpticalSystem(npix=64)
    osys.add_pupil(diffract.RectangleAperture(width=2.0, height=1.0))
    osys.add_detector(pixelscale=0.05, fov_pixels=(10, 14))
    hdul = osys.calc_psf(1e-6)
    assert hdul[0].data.shape == (20, 28)
    assert hdul["DET_SAMP"].data.shape == (10, 14)
    assert hdul[0].header["FOV_X"] == pytest.approx(0.7)
    assert hdul[0].header["FOV_Y"] == pytest.approx(0.5)


def test_scalar_transmission_scales_intensity():
    ref = small_system().calc_psf(1e-6)[0].data
    osys = diffract.OpticalSystem(name="small", npix=64, oversample=2)
    osys.add_pupil(diffract.CircularAperture(radius=1.0))
    osys.add_pupil(diffract.ScalarTransmission(transmission=0.5))
    osys.add_detector(pixelscale=0.05, fov_pixels=16 * u.pixel)
    np.testing.assert_allclose(osys.calc_psf(1e-6)[0].data, 0.25 * ref, rtol=1e-12)


def test_pad_factor_sets_the_pupil_array():
    osys = diffract.OpticalSystem(npix=64)
    osys.add_pupil(diffract.CircularAperture(radius=1.0, pad_factor=1.5))
    osys.add_detector(pixelscale=0.05, fov_pixels=8)
    assert osys.calc_psf(1e-6)[0].header["PUPLDIAM"] == pytest.approx(3.0)


def test_scene_text_is_what_the_command_line_reads():
    osys = diffract.OpticalSystem(name="described", npix=64, oversample=3)
    osys.add_pupil(diffract.HexagonAperture(flattoflat=2.0, rotation=30))
    osys.add_pupil(diffract.ZernikeWFE(radius=1.2, coefficients=[0, 0, 0, 20] * u.nm))
    osys.add_image(diffract.CircularOcculter(radius=0.1, shift_x=0.01))
    osys.add_pupil(diffract.SquareAperture(size=1.0))
    osys.add_detector(pixelscale=0.05, fov_arcsec=2.0)
    text = osys.describe()
    assert 'name = "described"' in text and "oversample = 3" in text
    assert 'kind = "hexagon_aperture"' in text and "rotation_deg = 30.0" in text
    assert "coefficients_m = [0.0, 0.0, 0.0, 2e-08]" in text
    assert 'plane = "image"' in text and "shift_x_arcsec = 0.01" in text
    diffract._diffract.check_scene(text)


def test_every_optic_class_computes():
    osys = diffract.OpticalSystem(npix=64, pupil_diameter=4.0)
    osys.add_pupil(diffract.MultiHexagonAperture(rings=1, flattoflat=1.0, center=True))
    osys.add_pupil(diffract.HexagonAperture(side=1.5))
    osys.add_pupil(diffract.SecondaryObscuration(secondary_radius=0.2, n_supports=3))
    osys.add_pupil(diffract.ZernikeWFE(radius=1.5, coefficients=[0, 1e-8]))
    osys.add_image(diffract.CircularOcculter(radius=0.02))
    osys.add_pupil(diffract.SquareAperture(size=3.0, rotation=10))
    osys.add_detector(pixelscale=0.05, fov_pixels=8)
    psf = osys.calc_psf(1e-6)[0].data
    assert np.isfinite(psf).all() and psf.sum() > 0


def test_source_offset_moves_the_psf():
    osys = diffract.OpticalSystem(npix=64)
    osys.add_pupil(diffract.CircularAperture(radius=1.0))
    osys.add_detector(pixelscale=0.02, fov_pixels=64)
    osys.source_offset_r = 0.1
    hdul = osys.calc_psf(1e-6)
    y, x = diffract.measure_centroid(hdul, boxsize=10, units="arcsec", relativeto="center")
    # theta = 0: the PSF moves along +Y (docs/scene-format.md).
    assert y == pytest.approx(0.1, abs=0.005) and x == pytest.approx(0.0, abs=0.005)


def test_planes_and_len():
    osys = small_system()
    assert len(osys) == 2
    assert isinstance(osys[0], diffract.CircularAperture)
    assert isinstance(osys[1], diffract.Detector)


def test_the_gil_is_released_while_computing():
    # The main thread keeps running Python while another computes: its longest pause is
    # far shorter than the computation. With the GIL held in Rust it would pause for
    # nearly all of it.
    osys = diffract.OpticalSystem(npix=1024, oversample=4)
    osys.add_pupil(diffract.CircularAperture(radius=1.0))
    osys.add_detector(pixelscale=0.01, fov_arcsec=2.0)
    done = threading.Event()
    result = {}

    def work():
        start = time.perf_counter()
        result["psf"] = osys.calc_psf(wavelength=[1e-6, 1.1e-6, 1.2e-6])
        result["seconds"] = time.perf_counter() - start
        done.set()

    thread = threading.Thread(target=work)
    last = time.perf_counter()
    longest_pause = 0.0
    thread.start()
    while not done.is_set():
        now = time.perf_counter()
        longest_pause = max(longest_pause, now - last)
        last = now
    thread.join()
    assert "psf" in result
    assert result["seconds"] > 0.05, "the computation is too short to tell"
    assert longest_pause < 0.5 * result["seconds"], (longest_pause, result["seconds"])


def test_conf_precision_chooses_the_transforms_precision(monkeypatch):
    osys = diffract.OpticalSystem(npix=64)
    osys.add_pupil(diffract.CircularAperture(radius=1.0))
    osys.add_detector(pixelscale=0.05, fov_pixels=16)
    auto = osys.calc_psf(1e-6)
    assert auto[0].header["PRECISIO"] == "f32"  # auto: single precision for this system
    monkeypatch.setattr(diffract.conf, "precision", "f64")
    double = osys.calc_psf(1e-6)
    assert double[0].header["PRECISIO"] == "f64"
    # Auto keeps within 1e-6 relative L2 of double precision.
    err = np.linalg.norm(auto[0].data - double[0].data) / np.linalg.norm(double[0].data)
    assert 0 < err <= 1e-6
    monkeypatch.setattr(diffract.conf, "precision", "f16")
    with pytest.raises(ValueError, match="auto, f64 or f32"):
        osys.calc_psf(1e-6)
