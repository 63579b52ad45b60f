"""FresnelOpticalSystem: the scene it writes, units, the output with and without a
detector, and what it refuses.

Numerical references: a lens and its focal distance concentrate the light (the peak
grows against an unfocused beam); the same system built with floats or Quantities gives
the same PSF."""

import astropy.units as u
import diffract
import numpy as np
import pytest


def system(distance=2.0, detector=True, **kwargs):
    fosys = diffract.FresnelOpticalSystem(pupil_diameter=0.2, npix=32, beam_ratio=0.5, **kwargs)
    fosys.add_optic(diffract.CircularAperture(radius=0.1))
    fosys.add_optic(diffract.QuadraticLens(f_lens=2.0))
    if detector:
        fosys.add_detector(pixelscale=5e-6, fov_pixels=16, distance=distance)
    return fosys


def test_scene_text():
    text = system().describe()
    assert 'propagation = "fresnel"' in text and "beam_ratio = 0.5" in text
    assert "distance_m = 2.0" in text and "plane =" not in text


def test_focus_concentrates_the_light():
    focused = system(2.0).calc_psf(1e-6)[0].data
    defocused = system(1.5).calc_psf(1e-6)[0].data
    assert focused.max() > 2 * defocused.max()


def test_quantities_equal_floats():
    fosys = diffract.FresnelOpticalSystem(pupil_diameter=20 * u.cm, npix=32, beam_ratio=0.5)
    fosys.add_optic(diffract.CircularAperture(radius=0.1 * u.m))
    fosys.add_optic(diffract.QuadraticLens(f_lens=200 * u.cm))
    fosys.add_detector(pixelscale=5 * u.micron / u.pixel, fov_pixels=16, distance=2 * u.m)
    np.testing.assert_array_equal(
        fosys.calc_psf(1 * u.micron)[0].data, system().calc_psf(1e-6)[0].data
    )


def test_without_a_detector_the_last_plane():
    fosys = diffract.FresnelOpticalSystem(pupil_diameter=0.2, npix=32, beam_ratio=0.5)
    fosys.add_optic(diffract.CircularAperture(radius=0.1))
    fosys.add_optic(diffract.ScalarTransmission(), distance=0.1)  # well inside Rayleigh
    hdul = fosys.calc_psf(1e-6)
    assert len(hdul) == 1
    assert hdul[0].data.shape == (64, 64)  # npix / beam_ratio
    assert hdul[0].header["PIXELSCL"] == pytest.approx(0.2 / 32, rel=1e-12)
    assert hdul[0].header["PIXUNIT"] == "meter" and hdul[0].header["PLANEZ"] == 0.1


def test_refused():
    with pytest.raises(NotImplementedError, match="add_optic"):
        system().add_pupil(diffract.CircularAperture())
    with pytest.raises(NotImplementedError, match="normalize"):
        system().calc_psf(1e-6, normalize="last")
    with pytest.raises(NotImplementedError, match="inwave"):
        system().calc_psf(1e-6, inwave=object())
    with pytest.raises(ValueError, match="occulter|image|fresnel|Fresnel|kind"):
        fosys = system()
        fosys.planes.insert(1, diffract.CircularOcculter())
        fosys.distances.insert(1, 0.0)
        fosys.calc_psf(1e-6)
