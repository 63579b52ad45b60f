"""Optics read back as arrays: sample(), get_transmission(), get_opd(), get_phasor(), against
POPPY 1.1.2's arrays stored by data/make_samples.py (data/samples.npz)."""

import importlib.util
from pathlib import Path

import astropy.units as u
import diffract
import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
REFERENCE = np.load(DATA / "samples.npz")


def _cases():
    spec = importlib.util.spec_from_file_location("make_samples", DATA / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cases(diffract)


@pytest.mark.parametrize("name", sorted(_cases()))
def test_sample_matches_poppy(name):
    optic, kwargs = _cases()[name]
    array, scale = optic.sample(return_scale=True, **kwargs)
    ref = REFERENCE[name]
    assert array.shape == ref.shape
    assert scale.value == pytest.approx(float(REFERENCE[name + "_scale"]), rel=1e-15)
    # POPPY's arrays to 1e-12 relative L2: the same sampling, gray edges and polynomials.
    err = np.linalg.norm(array - ref) / np.linalg.norm(ref)
    assert err <= 1e-12, err


def test_get_on_a_wavefront_matches_poppy():
    wf = diffract.Wavefront(wavelength=1e-6, npix=40, diam=2.4)
    optic = diffract.SecondaryObscuration(secondary_radius=0.4, n_supports=4, support_width=0.1)
    ref = REFERENCE["wave_transmission"]
    # POPPY's get_transmission / get_opd on the same wavefront, relative L2 <= 1e-12.
    t = optic.get_transmission(wf)
    assert np.linalg.norm(t - ref) / np.linalg.norm(ref) <= 1e-12
    zern = diffract.ZernikeWFE(radius=1.2, coefficients=[0, 10e-9, 0, 30e-9])
    ref = REFERENCE["wave_opd"]
    assert np.linalg.norm(zern.get_opd(wf) - ref) / np.linalg.norm(ref) <= 1e-12
    phasor = zern.get_phasor(wf)
    assert np.allclose(np.angle(phasor), 2 * np.pi * ref / 1e-6, atol=1e-12)


def test_a_clear_optic_and_the_wrong_plane():
    wf = diffract.Wavefront(npix=8, diam=1.0)
    assert np.array_equal(
        diffract.ScalarOpticalPathDifference(opd=0).get_transmission(wf), np.ones((8, 8))
    )
    image = diffract.Wavefront(npix=8, pixelscale=0.1 * u.arcsec / u.pixel)
    with pytest.raises(ValueError, match="pupil plane"):
        diffract.CircularAperture().get_transmission(image)
    with pytest.raises(ValueError, match="Invalid/unknown what"):
        diffract.CircularAperture().sample(what="nothing")
    with pytest.raises(ValueError, match="Wavefront"):
        diffract.CircularAperture().get_opd(1e-6)
