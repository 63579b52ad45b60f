"""psf_grid: the NDData cube photutils' GriddedPSFModel takes, serial and over a dask
LocalCluster (byte-identical), and the dask.bag pattern of docs/python.md."""

import os
import pathlib
import subprocess

import astropy.units as u
import diffract
import numpy as np
import pytest
from astropy.io import fits
from diffract.grid import psf_grid_point

ROOT = pathlib.Path(__file__).resolve().parents[3]

# A 3 x 2 lattice of offsets (x, y) arcsec.
OFFSETS = [(x, y) for y in (-0.2, 0.2) for x in (-0.2, 0.0, 0.2)]


def system():
    osys = diffract.OpticalSystem(name="grid", npix=64, oversample=2)
    osys.add_pupil(diffract.CircularAperture(radius=1.0))
    osys.add_pupil(diffract.SecondaryObscuration(secondary_radius=0.25, n_supports=4))
    osys.add_detector(pixelscale=0.05, fov_pixels=24)
    return osys


@pytest.fixture(scope="module")
def serial():
    return psf_grid_of()


def psf_grid_of(**kwargs):
    return diffract.psf_grid(system(), OFFSETS, wavelength=1e-6, **kwargs)


def test_grid_layout(serial):
    assert serial.data.shape == (6, 48, 48) and serial.data.dtype == np.float64
    assert serial.meta["oversampling"] == 2
    assert serial.meta["pixelscale"] == pytest.approx(0.05)
    xy = np.asarray(serial.meta["grid_xypos"])
    # reference pixel (0, 0) + offset / 0.05 arcsec per pixel
    assert np.allclose(xy, np.array(OFFSETS) / 0.05)


def test_each_uncentred_slice_is_the_point_psf():
    uncentred = psf_grid_of(centre_stamps=False)
    osys = system()
    for i, (x, y) in enumerate(OFFSETS):
        osys.source_offset_r = np.hypot(x, y)
        osys.source_offset_theta = np.degrees(np.arctan2(-x, y))
        # POPPY's offset convention: the PSF moves to (x, y); same PSF up to rounding.
        np.testing.assert_allclose(
            uncentred.data[i], osys.calc_psf(1e-6)[0].data, rtol=0, atol=1e-12
        )


def test_centred_stamps_hold_the_psf_at_their_centre(serial):
    # Centroids within 0.01 oversampled pixel of the stamp centre (23.5, 23.5); an
    # uncentred stamp of these offsets sits 4 to 8 pixels away.
    for stamp in serial.data:
        hdul = fits.HDUList([fits.PrimaryHDU(stamp)])
        hdul[0].header["PIXELSCL"] = 0.025
        y, x = diffract.measure_centroid(hdul, boxsize=10)
        assert abs(x - 23.5) < 0.01 and abs(y - 23.5) < 0.01, (x, y)
    # A system of a circular pupil: every centred stamp is the same PSF (to the rounding of
    # the default single-precision transforms, ~1e-6 of the peak).
    assert np.abs(serial.data - serial.data[2]).max() <= 1e-5 * serial.data.max()


def test_reference_pixel_and_quantities():
    grid = diffract.psf_grid(
        system(),
        [(o[0] * u.arcsec, o[1] * u.arcsec) for o in OFFSETS[:2]],
        wavelength=1 * u.um,
        reference_pixel=(1024, 512),
    )
    assert np.allclose(grid.meta["grid_xypos"], [(1020, 508), (1024, 508)])


def test_grid_loads_into_gridded_psf_model(serial):
    photutils = pytest.importorskip("photutils.psf")
    model = photutils.GriddedPSFModel(serial)
    assert model.grid_xypos.shape == (6, 2)
    # Off-grid, between the four nearest points (x in (0, 4), y in (-4, 4) pixels).
    yy, xx = np.mgrid[-12:12, -12:12].astype(float)
    image = model.evaluate(xx, yy, flux=1.0, x_0=1.3, y_0=-0.7)
    assert image.shape == (24, 24)
    assert np.isfinite(image).all() and image.max() > 0
    # Not the model of a grid point: interpolated between them.
    at_node = model.evaluate(xx, yy, flux=1.0, x_0=0.0, y_0=-4.0)
    assert not np.allclose(image, at_node)


@pytest.mark.parametrize(("centred", "bound"), [(True, 0.005), (False, None)])
def test_gridded_model_is_the_psf_at_an_off_grid_position(centred, bound):
    photutils = pytest.importorskip("photutils.psf")
    grid = psf_grid_of(centre_stamps=centred)
    model = photutils.GriddedPSFModel(grid)
    # The model sampled at the oversampled pixels' centres: oversampled pixel j of 48 is at
    # (j - 23.5) / 2 detector pixels from the on-axis point.
    yy, xx = (np.mgrid[0:48, 0:48] - 23.5) / 2
    x0, y0 = 1.3, -0.7
    image = model.evaluate(xx, yy, flux=1.0, x_0=x0, y_0=y0)
    osys = system()
    osys.source_offset_r = 0.05 * np.hypot(x0, y0)
    osys.source_offset_theta = np.degrees(np.arctan2(-x0, y0))
    direct = osys.calc_psf(1e-6)[0].data
    error = np.linalg.norm(image / image.sum() - direct / direct.sum()) / np.linalg.norm(
        direct / direct.sum()
    )
    if centred:
        # The PSF computed at that position, within 0.5% relative L2 (photutils' spline
        # resampling of the 2x oversampled stamp).
        assert error <= bound, error
    else:
        # Uncentred stamps are shifted twice: far from the PSF there.
        assert error > 0.5, error


def test_scene_grid_equals_system_grid(serial, tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(system().to_toml(1e-6))
    grid = diffract.psf_grid(diffract.load_scene(path), OFFSETS)
    assert np.array_equal(grid.data, serial.data)


def test_dask_local_cluster_is_byte_identical(serial):
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as client:
        grid = psf_grid_of(client=client)
        assert grid.data.tobytes() == serial.data.tobytes()
        assert np.array_equal(grid.meta["grid_xypos"], serial.meta["grid_xypos"])
        # The dask.bag pattern of docs/python.md.
        import dask.bag as db

        scene = diffract.Scene.from_system(system(), wavelength=1e-6)
        bag = db.from_sequence(OFFSETS, npartitions=2).map(lambda o: psf_grid_point(scene, o))
        cube = np.stack(bag.compute())
        assert cube.tobytes() == serial.data.tobytes()


def test_bad_arguments():
    with pytest.raises(ValueError, match="empty"):
        diffract.psf_grid(system(), [])
    with pytest.raises(TypeError, match="OpticalSystem or a Scene"):
        diffract.psf_grid("nope", OFFSETS)
    scene = diffract.Scene.from_system(system())
    with pytest.raises(ValueError, match="own"):
        diffract.psf_grid(scene, OFFSETS, source={"wavelengths": [1e-6], "weights": [1]})


def test_grid_slices_equal_the_command_line_grid(serial, tmp_path):
    exe = os.environ.get("DIFFRACT_CLI") or str(ROOT / "target" / "release" / "diffract")
    if not os.path.exists(exe):
        pytest.skip("the diffract command line is not built (cargo xtask test builds it)")
    text = system().to_toml(1e-6)
    text += "\n[grid]\nsource_offsets_arcsec = " + str([list(o) for o in OFFSETS]) + "\n"
    text += "centre_stamps = true\n"
    (tmp_path / "grid.toml").write_text(text)
    subprocess.run(
        [exe, "grid", str(tmp_path / "grid.toml"), "--out", str(tmp_path / "out"), "-q"],
        check=True,
    )
    subprocess.run(
        [exe, "merge", str(tmp_path / "out"), "-o", str(tmp_path / "cube.fits")], check=True
    )
    with fits.open(tmp_path / "cube.fits") as cube:
        assert np.array_equal(cube[0].data, serial.data)


def test_command_line_webbpsf_cube_loads_in_photutils_and_read_psf_grid(serial, tmp_path):
    photutils = pytest.importorskip("photutils.psf")
    exe = os.environ.get("DIFFRACT_CLI") or str(ROOT / "target" / "release" / "diffract")
    if not os.path.exists(exe):
        pytest.skip("the diffract command line is not built (cargo xtask test builds it)")
    text = system().to_toml(1e-6)
    text += "\n[grid]\nsource_offsets_arcsec = " + str([list(o) for o in OFFSETS]) + "\n"
    text += "reference_pixel = [100.0, 60.0]\ncentre_stamps = true\n"
    (tmp_path / "grid.toml").write_text(text)
    out = tmp_path / "out"
    subprocess.run([exe, "grid", str(tmp_path / "grid.toml"), "--out", str(out), "-q"], check=True)
    cube = tmp_path / "cube.fits"
    subprocess.run([exe, "merge", str(out), "-o", str(cube), "--format", "webbpsf"], check=True)
    with fits.open(cube) as hdul:
        assert hdul[0].header["OVERSAMP"] == 2
        # (y, x) = reference + offset / 0.05 arcsec per pixel
        assert hdul[0].header["DET_YX0"] == "(56.0, 96.0)"
    grid = diffract.read_psf_grid(cube)
    assert np.array_equal(grid.data, serial.data)
    expected = np.array(OFFSETS) / 0.05 + (100.0, 60.0)
    assert np.allclose(grid.meta["grid_xypos"], expected)
    assert grid.meta["oversampling"] == 2
    # The same cube from psf_grid with the same reference pixel.
    ours = diffract.psf_grid(system(), OFFSETS, wavelength=1e-6, reference_pixel=(100.0, 60.0))
    assert np.allclose(ours.meta["grid_xypos"], grid.meta["grid_xypos"])
    # photutils reads it and evaluates off the grid.
    model = photutils.GriddedPSFModel.read(str(cube), format="webbpsf")
    assert model.data.shape == (6, 48, 48)
    assert model.oversampling.tolist() == [2, 2]
    yy, xx = np.mgrid[50:70, 90:110].astype(float)
    image = model.evaluate(xx, yy, flux=1.0, x_0=100.5, y_0=59.0)
    assert np.isfinite(image).all() and image.max() > 0
    # photutils 3.0.0's reader takes the first number of DET_YX as x: its grid is the
    # keyword's (y, x) pairs as given (WebbPSF's own files are read the same way), while
    # read_psf_grid reads them as the keyword names them.
    xy_as_keyword = sorted(map(tuple, grid.meta["grid_xypos"].tolist()))
    photutils_pairs = sorted((y, x) for x, y in map(tuple, model.grid_xypos.tolist()))
    assert photutils_pairs == xy_as_keyword
    again = photutils.GriddedPSFModel(grid)
    assert sorted(map(tuple, again.grid_xypos.tolist())) == xy_as_keyword


def test_progress_counts_points(capsys, serial):
    grid = psf_grid_of(progressbar=True)
    err = capsys.readouterr().err
    # tqdm's bar or the plain line: all six points counted.
    assert "6/6" in err, err
    assert np.array_equal(grid.data, serial.data)
