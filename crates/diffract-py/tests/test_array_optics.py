"""Optics from numpy arrays and FITS files: POPPY's arguments, the arrays read back, files
and HDULists giving the same PSF, the temporary files removed, and the errors.

Numerical references: an array optic equals the analytic optic it samples (a square pupil
has no gray pixels), and every spelling of the same FITS optic gives the same PSF."""

import os
import tempfile

import astropy.units as u
import diffract
import numpy as np
import pytest
from astropy.io import fits


def square_pupil(n=64, half=20):
    t = np.zeros((n, n))
    t[n // 2 - half : n // 2 + half, n // 2 - half : n // 2 + half] = 1.0
    return t


def psf(optic, plane="pupil", pupil_diameter=None, **kwargs):
    osys = diffract.OpticalSystem(oversample=2, pupil_diameter=pupil_diameter, **kwargs)
    getattr(osys, f"add_{plane}")(optic)
    osys.add_detector(pixelscale=0.05, fov_pixels=24)
    return osys.calc_psf(1e-6)[0].data


def test_array_optic_equals_the_analytic_optic():
    # A 0.8 m square sampled at 2 cm per pixel, in a 1.28 m array of 64 pixels.
    array = psf(diffract.ArrayOpticalElement(transmission=square_pupil(), pixelscale=0.02))
    osys = diffract.OpticalSystem(oversample=2, npix=64, pupil_diameter=1.28)
    osys.add_pupil(diffract.SquareAperture(size=0.8))
    osys.add_detector(pixelscale=0.05, fov_pixels=24)
    analytic = osys.calc_psf(1e-6)[0].data
    np.testing.assert_allclose(array, analytic, rtol=1e-9, atol=1e-15)


def test_pixelscale_from_the_system_and_as_a_quantity():
    t = square_pupil()
    by_system = psf(diffract.ArrayOpticalElement(transmission=t), pupil_diameter=1.28)
    quantity = psf(diffract.ArrayOpticalElement(transmission=t, pixelscale=2 * u.cm / u.pixel))
    np.testing.assert_allclose(by_system, quantity, rtol=1e-12, atol=1e-18)


def test_get_transmission_and_opd():
    t = square_pupil(8, 2)
    opd = np.arange(64.0).reshape(8, 8) * 1e-9
    optic = diffract.ArrayOpticalElement(transmission=t, opd=opd, pixelscale=0.1)
    np.testing.assert_array_equal(optic.get_transmission(1e-6), t)
    np.testing.assert_array_equal(optic.get_opd(1e-6), opd)
    assert optic.shape == (8, 8)
    only_opd = diffract.ArrayOpticalElement(opd=opd)
    np.testing.assert_array_equal(only_opd.get_transmission(1e-6), np.ones((8, 8)))
    only_t = diffract.ArrayOpticalElement(transmission=t)
    np.testing.assert_array_equal(only_t.get_opd(1e-6), np.zeros((8, 8)))


def test_opd_only_changes_the_psf():
    t = square_pupil()
    _y, x = np.indices(t.shape) - 31.5
    tilt = diffract.ArrayOpticalElement(transmission=t, opd=x * 2e-9, pixelscale=0.02)
    flat = diffract.ArrayOpticalElement(transmission=t, pixelscale=0.02)
    a, b = psf(tilt), psf(flat)
    _, x = np.indices(a.shape)
    # An OPD rising toward +X moves the PSF toward -X (POPPY's sign).
    assert (a * x).sum() / a.sum() < (b * x).sum() / b.sum() - 0.5


def test_temporary_files_are_removed(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    psf(diffract.ArrayOpticalElement(transmission=square_pupil(), pixelscale=0.02))
    assert os.listdir(tmp_path) == []


def test_describe_names_placeholders():
    osys = diffract.OpticalSystem(npix=64)
    osys.add_pupil(diffract.ArrayOpticalElement(transmission=square_pupil(), pixelscale=0.02))
    osys.add_detector(pixelscale=0.05, fov_pixels=8)
    text = osys.describe()
    assert 'kind = "fits_optic"' in text and "written when the PSF is computed" in text


def write(path, data, **header):
    hdu = fits.PrimaryHDU(data)
    for key, value in header.items():
        hdu.header[key] = value
    hdu.writeto(path)
    return str(path)


def test_fits_file_hdulist_and_add_pupil_agree(tmp_path):
    t = square_pupil()
    y, x = np.indices(t.shape) - 31.5
    opd_nm = (x + 2 * y) * 2.0
    t_path = write(tmp_path / "t.fits", t, PIXELSCL=0.02)
    o_path = write(tmp_path / "o.fits", opd_nm, BUNIT="nm", PIXELSCL=0.02)
    from_files = psf(diffract.FITSOpticalElement(transmission=t_path, opd=o_path))
    hdulists = psf(
        diffract.FITSOpticalElement(
            transmission=fits.open(t_path), opd=fits.open(o_path), opdunits="nanometers"
        )
    )
    osys = diffract.OpticalSystem(oversample=2)
    osys.add_pupil(transmission=t_path, opd=o_path)
    osys.add_detector(pixelscale=0.05, fov_pixels=24)
    add_pupil = osys.calc_psf(1e-6)[0].data
    arrays = psf(diffract.ArrayOpticalElement(transmission=t, opd=opd_nm * 1e-9, pixelscale=0.02))
    for other in (hdulists, add_pupil, arrays):
        np.testing.assert_allclose(other, from_files, rtol=1e-12, atol=1e-18)
    assert sorted(os.listdir(tmp_path)) == ["o.fits", "t.fits"]  # nothing written beside


def test_fits_cube_slices_flips_rotation_and_shift(tmp_path):
    t = np.zeros((3, 8, 8))
    t[1, 1:3, 2:7] = 1.0
    path = write(tmp_path / "cube.fits", t, PIXELSCL=0.1)
    optic = diffract.FITSOpticalElement(transmission=path, transmission_index=1)
    np.testing.assert_array_equal(optic.get_transmission(1e-6), t[1])
    flipped = diffract.FITSOpticalElement(
        transmission=path, transmission_index=1, flip_x=True, flip_y=True
    )
    np.testing.assert_array_equal(flipped.get_transmission(1e-6), t[1, ::-1, ::-1])
    turned = diffract.FITSOpticalElement(transmission=path, transmission_index=1, rotation=90)
    np.testing.assert_array_equal(turned.get_transmission(1e-6), np.rot90(t[1], k=-1))
    shifted = diffract.FITSOpticalElement(transmission=path, transmission_index=1, shift_x=0.1)
    np.testing.assert_array_equal(shifted.get_transmission(1e-6), np.roll(t[1], 1, axis=1))
    fraction = diffract.FITSOpticalElement(transmission=path, transmission_index=1, shift=(0, 0.25))
    np.testing.assert_array_equal(fraction.get_transmission(1e-6), np.roll(t[1], 2, axis=0))
    assert optic.pupil_diam.to_value(u.m) == pytest.approx(0.8)


def test_opd_in_radians(tmp_path):
    phase = np.full((8, 8), 0.5)
    path = write(tmp_path / "phase.fits", phase, BUNIT="radian", PIXELSCL=0.1)
    optic = diffract.FITSOpticalElement(opd=path)
    np.testing.assert_allclose(optic.get_opd(2e-6), phase * 2e-6 / (2 * np.pi))


def test_free_rotation_is_left_to_rust(tmp_path):
    path = write(tmp_path / "t.fits", square_pupil(), PIXELSCL=0.02)
    optic = diffract.FITSOpticalElement(transmission=path, rotation=30)
    assert optic._scene_table("pupil", None)["rotation_deg"] == 30.0
    with pytest.raises(NotImplementedError, match="rotation"):
        optic.get_transmission(1e-6)
    assert psf(optic).sum() > 0


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="pixelscale"):
        psf(diffract.ArrayOpticalElement(transmission=square_pupil()))
    with pytest.raises(ValueError, match="same shape"):
        diffract.ArrayOpticalElement(transmission=np.ones((4, 4)), opd=np.ones((5, 5)))
    no_unit = write(tmp_path / "o.fits", np.zeros((8, 8)), PIXELSCL=0.1)
    with pytest.raises(ValueError, match="BUNIT"):
        diffract.FITSOpticalElement(opd=no_unit)
    with pytest.raises(ValueError, match="opdunits"):
        diffract.FITSOpticalElement(opd=no_unit, opdunits="furlong")
    no_scale = write(tmp_path / "t.fits", np.ones((8, 8)))
    with pytest.raises(ValueError, match="pixel scale"):
        psf(diffract.FITSOpticalElement(transmission=no_scale))
    with pytest.raises(TypeError, match="transmission"):
        diffract.FITSOpticalElement(transmission=3)
