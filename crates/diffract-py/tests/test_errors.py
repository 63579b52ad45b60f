"""Errors: bad input is a ValueError with the command line's one-line message (the scene
checker's, which names the optic and the key); what diffract lacks is a
NotImplementedError naming it."""

import astropy.units as u
import diffract
import numpy as np
import pytest


def system_with(*optics, detector=True):
    osys = diffract.OpticalSystem(npix=32)
    for optic in optics:
        osys.add_pupil(optic)
    if detector:
        osys.add_detector(pixelscale=0.1, fov_pixels=8)
    return osys


def test_bad_value_names_the_optic_and_key():
    osys = system_with(
        diffract.CircularAperture(radius=1.0), diffract.SecondaryObscuration(secondary_radius=-0.1)
    )
    with pytest.raises(ValueError) as info:
        osys.calc_psf(1e-6)
    message = str(info.value)
    assert "optic 2 (secondary_obscuration)" in message
    assert "secondary_radius_m" in message
    assert "\n" not in message


def test_the_message_is_the_scene_checkers():
    osys = system_with(diffract.CircularAperture(radius=-1.0))
    with pytest.raises(ValueError) as from_python:
        osys.calc_psf(1e-6)
    with pytest.raises(ValueError) as from_scene:
        diffract._diffract.check_scene(osys.describe())
    assert str(from_python.value) == str(from_scene.value)


def test_bad_wavelength():
    with pytest.raises(ValueError, match=r"\[source\]"):
        system_with(diffract.CircularAperture()).calc_psf(-1e-6)


def test_bad_normalize():
    with pytest.raises(ValueError, match="normalize"):
        system_with(diffract.CircularAperture()).calc_psf(1e-6, normalize="peak")


def test_occulter_in_a_pupil_plane():
    with pytest.raises(ValueError, match="circular_occulter"):
        system_with(diffract.CircularAperture(), diffract.CircularOcculter()).calc_psf(1e-6)


def test_wrong_unit():
    with pytest.raises(ValueError, match="radius"):
        diffract.CircularAperture(radius=1 * u.s)


def test_not_a_number():
    with pytest.raises(TypeError, match="radius"):
        diffract.CircularAperture(radius="big")


def test_zernike_needs_a_radius():
    with pytest.raises(ValueError, match="radius"):
        diffract.ZernikeWFE(coefficients=[0, 1e-9])


def test_detector_needs_a_field():
    with pytest.raises(ValueError, match="fov_pixels or fov_arcsec"):
        diffract.OpticalSystem().add_detector(pixelscale=0.1)


@pytest.mark.parametrize(
    "name",
    ["FresnelWavefront", "Instrument"],
)
def test_missing_poppy_names(name):
    with pytest.raises(NotImplementedError, match=name):
        getattr(diffract, name)


def test_unknown_names_are_attribute_errors():
    assert not hasattr(diffract, "no_such_thing")


@pytest.mark.parametrize(
    "call, what",
    [
        (lambda: diffract.CircularAperture(gray_pixel=False), "gray_pixel"),
        (lambda: diffract.ZernikeWFE(radius=1, aperture_stop=True), "aperture_stop"),
        (lambda: diffract.CircularAperture(inclination_x=10), "inclination"),
        (
            lambda: system_with(diffract.CircularAperture()).calc_psf(inwave=object()),
            "inwave",
        ),
        (
            lambda: system_with(diffract.CircularAperture()).calc_psf(display_intermediates=True),
            "display_intermediates",
        ),
        (
            lambda: diffract.OpticalSystem(oversample=2).add_detector(
                0.1, oversample=4, fov_pixels=8
            ),
            "oversampling",
        ),
        (lambda: diffract.OpticalSystem().add_pupil(function="Circle"), "function"),
        (lambda: diffract.ArrayOpticalElement(opd=np.zeros((4, 4)), interp_order=1), "interp"),
        (lambda: diffract.OpticalSystem().add_pupil(object()), "object"),
    ],
)
def test_missing_capabilities(call, what):
    with pytest.raises(NotImplementedError, match=what):
        call()


def test_optic_after_the_detector():
    osys = system_with(diffract.CircularAperture())
    osys.add_pupil(diffract.CircularAperture())
    with pytest.raises(NotImplementedError, match="after the detector"):
        osys.calc_psf(1e-6)


def test_inverse_transmission_needs_an_optic():
    with pytest.raises(ValueError, match="valid optic"):
        diffract.InverseTransmission(None)
    with pytest.raises(NotImplementedError, match="inverted twice"):
        diffract.InverseTransmission(diffract.InverseTransmission(diffract.CircularAperture()))
