"""Scenes from Python: load_scene, Scene.to_toml and OpticalSystem.to_toml, and the round
trip Python system -> scene file -> command line or load_scene -> the same PSF, bit for
bit."""

import os
import pathlib
import shutil
import subprocess

import diffract
import numpy as np
import pytest
from astropy.io import fits

ROOT = pathlib.Path(__file__).resolve().parents[3]


def cli():
    """The command line: $DIFFRACT_CLI (cargo xtask test builds it), else a built one."""
    path = os.environ.get("DIFFRACT_CLI")
    if path:
        return path
    for profile in ("release", "debug"):
        candidate = ROOT / "target" / profile / "diffract"
        if candidate.exists():
            return str(candidate)
    return shutil.which("diffract")


def system():
    osys = diffract.OpticalSystem(name="round trip", npix=64, oversample=2)
    osys.add_pupil(diffract.CircularAperture(radius=1.2))
    osys.add_pupil(diffract.SecondaryObscuration(secondary_radius=0.3, n_supports=3))
    osys.add_pupil(diffract.ZernikeWFE(radius=1.2, coefficients=[0, 0, 0, 30e-9, 10e-9]))
    osys.add_detector(pixelscale=0.04, fov_pixels=24)
    osys.source_offset_r = 0.07
    osys.source_offset_theta = 30.0
    return osys


SPECTRUM = {"wavelengths": [0.9e-6, 1.0e-6, 1.1e-6], "weights": [0.2, 0.5, 0.3]}


def assert_same(a, b):
    for i in (0, 1):
        assert a[i].data.shape == b[i].data.shape
        assert np.array_equal(a[i].data, b[i].data), f"HDU {i} differs"


def test_to_toml_is_a_scene_that_computes_the_same_psf():
    osys = system()
    text = osys.to_toml(source=SPECTRUM)
    assert "[[optic]]" in text and "offset_r_arcsec = 0.07" in text
    scene = diffract.Scene(text)
    assert scene.to_toml() == text
    assert_same(osys.calc_psf(source=SPECTRUM), scene.calc_psf())
    assert diffract.Scene.from_system(osys, source=SPECTRUM) == scene


def test_file_round_trip_through_load_scene(tmp_path):
    osys = system()
    path = tmp_path / "system.toml"
    diffract.Scene.from_system(osys, wavelength=1e-6).save(path)
    scene = diffract.load_scene(path)
    assert scene.path == str(path)
    assert scene.to_toml() == path.read_text()
    assert_same(osys.calc_psf(1e-6), scene.calc_psf())
    # Saved again and read back: the same text.
    scene.save(tmp_path / "again.toml")
    assert diffract.load_scene(tmp_path / "again.toml").to_toml() == scene.to_toml()


def test_file_round_trip_through_the_command_line(tmp_path):
    exe = cli()
    if exe is None:
        pytest.skip("the diffract command line is not built (cargo xtask test builds it)")
    osys = system()
    path = tmp_path / "system.toml"
    path.write_text(osys.to_toml(source=SPECTRUM))
    out = tmp_path / "psf.fits"
    subprocess.run([exe, "psf", str(path), "-o", str(out), "-q"], check=True)
    with fits.open(out) as from_cli:
        assert_same(osys.calc_psf(source=SPECTRUM), from_cli)
        assert from_cli[0].header["NWAVES"] == 3


def test_command_line_scene_loads_and_computes_as_the_command_line(tmp_path):
    exe = cli()
    if exe is None:
        pytest.skip("the diffract command line is not built (cargo xtask test builds it)")
    scene_path = ROOT / "tests" / "data" / "grid_small.toml"
    scene = diffract.load_scene(scene_path)
    out = tmp_path / "psf.fits"
    subprocess.run([exe, "psf", str(scene_path), "-o", str(out), "-q"], check=True)
    with fits.open(out) as from_cli:
        psf = scene.calc_psf()
        assert_same(psf, from_cli)
        # The default name is the file's stem, as the command line's.
        assert psf[0].header["OBJECT"] == from_cli[0].header["OBJECT"]


def test_relative_paths_start_from_the_scene_folder(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    y, x = np.mgrid[-16:16, -16:16] + 0.5
    pupil = (np.hypot(x, y) < 14).astype(float)
    fits.PrimaryHDU(pupil).writeto(sub / "pupil.fits")
    text = (
        'name = "fits"\noversample = 2\n\n[source]\nwavelengths_m = [1e-6]\n\n'
        '[[optic]]\nplane = "pupil"\nkind = "fits_optic"\ntransmission_path = "pupil.fits"\n'
        "pixelscale_m = 0.0625\n\n[detector]\npixelscale_arcsec = 0.05\nfov_pixels = 16\n"
    )
    (sub / "scene.toml").write_text(text)
    scene = diffract.load_scene(sub / "scene.toml")
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)  # not the scene's folder
        psf = scene.calc_psf()
    finally:
        os.chdir(cwd)
    assert psf[0].data.shape == (32, 32) and psf[0].data.sum() > 0.5
    # Without the file's path, the relative path does not resolve from here.
    with pytest.raises(ValueError, match="pupil.fits"):
        diffract.Scene(text).calc_psf()


def test_monochromatic_and_offset_overrides():
    osys = system()
    osys.source_offset_r = 0
    scene = diffract.Scene.from_system(osys, source=SPECTRUM)
    # offset (x, y) = (0, 0.1) arcsec: r = 0.1, theta = 0 (counter-clockwise from +Y).
    mono = osys.calc_psf(1e-6)
    assert_same(scene.calc_psf(wavelength=1e-6), mono)
    osys.source_offset_r = 0.1
    osys.source_offset_theta = 0.0
    assert_same(scene.calc_psf(wavelength=1e-6, offset=(0.0, 0.1)), osys.calc_psf(1e-6))


def test_bad_scenes_raise_the_command_line_message(tmp_path):
    with pytest.raises(ValueError, match="cannot read scene"):
        diffract.load_scene(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('[source]\nwavelengths_m = [1e-6]\n[[optic]]\nplane = "pupil"\nkind = "nope"\n')
    with pytest.raises(ValueError, match="bad.toml"):
        diffract.load_scene(bad)
    with pytest.raises(ValueError, match="offset"):
        diffract.Scene(system().to_toml()).calc_psf(offset=(1.0,))


def test_a_fresnel_scene_computes_as_its_system(tmp_path):
    """Reference: FresnelOpticalSystem.calc_psf of the same system, bit for bit; a Fresnel
    scene takes no source offset (ValueError)."""
    fosys = diffract.FresnelOpticalSystem(pupil_diameter=0.2, npix=32, beam_ratio=0.5)
    fosys.add_optic(diffract.CircularAperture(radius=0.1))
    fosys.add_optic(diffract.QuadraticLens(f_lens=2.0))
    fosys.add_detector(pixelscale=5e-6, fov_pixels=16, distance=2.0)
    path = tmp_path / "fresnel.toml"
    path.write_text(fosys.describe())
    scene = diffract.load_scene(path)
    got = scene.calc_psf(wavelength=1e-6)
    assert len(got) == 1
    np.testing.assert_array_equal(got[0].data, fosys.calc_psf(1e-6)[0].data)
    with pytest.raises(ValueError, match="Fraunhofer scenes only"):
        scene.calc_psf(offset=(0.1, 0.0))


def test_array_optics_go_to_array_dir(tmp_path):
    """A system with an optic from an array: to_toml refuses without array_dir (ValueError);
    with it, the scene names the written FITS file and gives calc_psf's PSF bit for bit."""
    n = 32
    y, x = np.mgrid[:n, :n] - (n - 1) / 2
    transmission = (np.hypot(x, y) < n / 2 - 1).astype(float)
    osys = diffract.OpticalSystem(npix=n, pupil_diameter=1.0, oversample=2)
    osys.add_pupil(diffract.ArrayOpticalElement(transmission=transmission, pixelscale=1.0 / n))
    osys.add_detector(pixelscale=0.1, fov_pixels=16)
    with pytest.raises(ValueError, match="array_dir"):
        osys.to_toml(1e-6)
    scene = diffract.Scene(osys.to_toml(1e-6, array_dir=tmp_path))
    assert list(tmp_path.glob("*.fits"))
    np.testing.assert_array_equal(scene.calc_psf()[0].data, osys.calc_psf(1e-6)[0].data)
