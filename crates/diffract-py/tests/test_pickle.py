"""Systems, their optics and scenes pickle: the unpickled object computes the same PSF, bit
for bit (what sending them to dask workers needs)."""

import pickle

import astropy.units as u
import diffract
import numpy as np


def every_optic_system():
    osys = diffract.OpticalSystem(name="pickled", npix=64, oversample=2)
    osys.add_pupil(diffract.CircularAperture(radius=1.2 * u.m))
    osys.add_pupil(diffract.SecondaryObscuration(secondary_radius=0.3, n_supports=4))
    osys.add_pupil(diffract.ZernikeWFE(radius=1.2, coefficients=[0, 20e-9, 0, 40e-9]))
    osys.add_pupil(diffract.ThinLens(nwaves=0.5, reference_wavelength=1e-6, radius=1.2))
    osys.add_image(diffract.InverseTransmission(diffract.CircularOcculter(radius=0.05)))
    osys.add_pupil(diffract.CircularAperture(radius=1.0))
    osys.add_detector(pixelscale=0.04, fov_pixels=24)
    osys.source_offset_r = 0.05 * u.arcsec
    osys.source_offset_theta = 45
    return osys


def same(a, b):
    return all(np.array_equal(a[i].data, b[i].data) for i in (0, 1))


def test_system_pickles_to_the_same_psf():
    osys = every_optic_system()
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        again = pickle.loads(pickle.dumps(osys, protocol=protocol))
        assert isinstance(again, diffract.OpticalSystem) and again is not osys
        assert again.to_toml() == osys.to_toml()
        assert same(again.calc_psf(1e-6), osys.calc_psf(1e-6))


def test_scene_pickles_to_the_same_psf(tmp_path):
    path = tmp_path / "scene.toml"
    path.write_text(every_optic_system().to_toml([0.9e-6, 1.1e-6]))
    scene = diffract.load_scene(path)
    again = pickle.loads(pickle.dumps(scene))
    assert again == scene and again.path == scene.path
    assert same(again.calc_psf(), scene.calc_psf())


def test_optics_and_detectors_pickle():
    osys = every_optic_system()
    for plane in osys.planes:
        again = pickle.loads(pickle.dumps(plane))
        assert type(again) is type(plane) and vars(again).keys() == vars(plane).keys()
