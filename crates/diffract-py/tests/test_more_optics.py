"""The wavefront-error optics, the deformable mirrors and the other analytic optics:
POPPY's arguments reach the scene, every class computes, and the DMs' commands behave as
POPPY's.

Numerical references: identities (a flat DM is its gray-edged circle; a segmented DM's piston on
every segment changes nothing; a scalar OPD changes nothing; a sine ripple of zero
amplitude changes nothing), and the scene keys written."""

import astropy.units as u
import diffract
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def double_precision(monkeypatch):
    """The identities hold to 1e-9 per pixel: double precision throughout."""
    monkeypatch.setattr(diffract.conf, "precision", "f64")


def run(*optics, image=(), npix=64, detector=True):
    osys = diffract.OpticalSystem(npix=npix, oversample=2)
    osys.add_pupil(diffract.CircularAperture(radius=1.0))
    for optic in optics:
        osys.add_pupil(optic)
    for optic in image:
        osys.add_image(optic)
    if image:
        osys.add_pupil(diffract.CircularAperture(radius=0.9))
    if detector:
        osys.add_detector(pixelscale=0.05, fov_pixels=16)
    return osys.calc_psf(1e-6)[0].data


PUPIL = [
    lambda: diffract.ParameterizedWFE(
        coefficients=[0, 0, 0, 30e-9], radius=1.0, basis_factory=diffract.zernike.hexike_basis
    ),
    lambda: diffract.ParameterizedWFE(coefficients=[0, 20e-9], basis_factory="zernike"),
    lambda: diffract.SineWaveWFE(spatialfreq=2 / u.m, amplitude=20 * u.nm, rotation=30),
    lambda: diffract.StatisticalPSDWFE(index=3, wfe=20, radius=1.0, seed=3),
    lambda: diffract.PowerSpectrumWFE(
        psd_parameters=[[3.0, 1e-3 * u.nm**2 / u.m, 1 * u.m, 0.001 * u.m, 0 * u.nm**2 * u.m**2]],
        seed=1,
        rms=10,
        radius=1.0,
    ),
    lambda: diffract.KolmogorovWFE(r0=0.5, seed=2),
    lambda: diffract.KolmogorovWFE(Cn2=1e-14, dz=100, kind="von Karman", outer_scale=20, seed=2),
    lambda: diffract.GaussianAperture(fwhm=1.5),
    lambda: diffract.AsymmetricSecondaryObscuration(secondary_radius=0.2, support_width=0.03),
    lambda: diffract.KnifeEdge(rotation=20),
    lambda: diffract.ScalarOpticalPathDifference(opd=100 * u.nm),
    lambda: diffract.KeystoneSegmentedCircularAperture(radius=1.0, rings=2, nsections=[4, 8]),
    lambda: diffract.TipTiltStage(diffract.CircularAperture(radius=1.0), radius=1.0),
    lambda: diffract.CompoundAnalyticOptic(
        [diffract.CircularAperture(radius=1.0), diffract.SecondaryObscuration()], mergemode="and"
    ),
    lambda: diffract.QuadraticLens(f_lens=1000.0),
    lambda: diffract.ContinuousDeformableMirror(dm_shape=(6, 6)),
    lambda: diffract.HexSegmentedDeformableMirror(rings=1, flattoflat=0.6),
    lambda: diffract.CircularSegmentedDeformableMirror(rings=1, segment_radius=0.3),
]

IMAGE = [
    lambda: diffract.BarOcculter(width=0.1),
    lambda: diffract.BandLimitedCoronagraph(kind="linear", sigma=2.0),
    lambda: diffract.CircularPhaseMask(radius=0.1, wavelength=1e-6),
    lambda: diffract.KnifeEdge(),
    lambda: diffract.ScalarOpticalPathDifference(),
]


@pytest.mark.parametrize("make", PUPIL)
def test_pupil_optics_compute(make):
    psf = run(make())
    assert np.isfinite(psf).all() and psf.sum() > 0


@pytest.mark.parametrize("make", IMAGE)
def test_image_optics_compute(make):
    psf = run(image=[make()])
    assert np.isfinite(psf).all() and psf.sum() > 0


def test_fqpm_with_its_aligners():
    osys = diffract.OpticalSystem(npix=64, oversample=2)
    osys.add_pupil(diffract.CircularAperture(radius=1.0))
    osys.add_pupil(diffract.FQPM_FFT_aligner())
    osys.add_image(diffract.IdealFQPM(wavelength=1e-6))
    osys.add_pupil(diffract.FQPM_FFT_aligner(direction="backward"))
    osys.add_pupil(diffract.CircularAperture(radius=0.9))
    osys.add_detector(pixelscale=0.05, fov_pixels=16)
    assert osys.calc_psf(1e-6)[0].data.sum() < 0.1 * run().sum()  # the star is nulled


@pytest.mark.parametrize(
    "optic",
    [
        diffract.ScalarOpticalPathDifference(opd=3e-7),
        diffract.SineWaveWFE(amplitude=0.0),
    ],
)
def test_identities(optic):
    np.testing.assert_allclose(run(optic), run(), rtol=1e-9, atol=1e-15)


def test_a_flat_dm_is_its_circular_aperture():
    dm = diffract.ContinuousDeformableMirror(dm_shape=(6, 6), radius=1.0)
    np.testing.assert_allclose(
        run(dm), run(diffract.CircularAperture(radius=1.0)), rtol=1e-9, atol=1e-15
    )


def test_segment_piston_everywhere_changes_nothing():
    dm = diffract.HexSegmentedDeformableMirror(rings=1, flattoflat=0.6, gap=0.0)
    flat = run(dm)
    for seg in dm.segmentlist:
        dm.set_actuator(seg, 100 * u.nm, 0, 0)
    np.testing.assert_allclose(run(dm), flat, rtol=1e-9, atol=1e-15)


def test_continuous_dm_commands():
    dm = diffract.ContinuousDeformableMirror(dm_shape=(4, 5), radius=0.5)
    assert dm.dm_shape == (4, 5)
    assert dm.actuator_spacing == pytest.approx(1.0 / 3)
    dm.set_actuator(4, 1, 20 * u.nm)
    assert dm.surface[1, 4] == pytest.approx(20e-9)
    dm.set_surface(5e-9)
    assert (dm.surface == 5e-9).all()
    dm.set_surface(np.ones((4, 5)) * u.um)
    assert dm.surface[0, 0] == pytest.approx(1e-6)
    dm.flatten()
    assert not dm.surface.any()
    with pytest.raises(ValueError, match="X axis"):
        dm.set_actuator(5, 0, 1e-9)
    with pytest.raises(ValueError, match="shape"):
        dm.set_surface(np.zeros((5, 4)))
    table = dm._scene_table("pupil")
    assert table["dm_shape"] == [4, 5] and len(table["surface_m"]) == 4


def test_segmented_dm_commands():
    dm = diffract.CircularSegmentedDeformableMirror(rings=1, center=False)
    assert dm.segmentlist == [1, 2, 3, 4, 5, 6] and dm.dm_shape == 6
    dm.set_actuator(3, 1e-8, 1e-7 * u.rad, 0)
    assert list(dm.surface[3]) == pytest.approx([1e-8, 1e-7, 0])
    with pytest.raises(ValueError, match="not present"):
        dm.set_actuator(0, 1e-8, 0, 0)
    table = dm._scene_table("pupil")
    assert len(table["piston_m"]) == 7 and table["piston_m"][3] == 1e-8
    dm.flatten()
    assert not dm.surface.any()


def test_a_dm_moves_the_psf_with_tilt():
    dm = diffract.ContinuousDeformableMirror(dm_shape=(5, 5), radius=1.0)
    dm.set_surface(np.tile(np.linspace(-1, 1, 5) * 200e-9, (5, 1)))
    psf = run(dm)
    _y, x = np.indices(psf.shape)
    # An OPD rising toward +X moves the PSF toward -X (POPPY's sign).
    assert (psf * x).sum() / psf.sum() < (psf.shape[1] - 1) / 2 - 0.5


def test_tip_tilt_stage_moves_the_psf():
    stage = diffract.TipTiltStage(diffract.CircularAperture(radius=1.0), radius=1.0)
    stage.set_tip_tilt(0, 0.1 * u.arcsec)
    assert stage.get_tip_tilt()[1] == pytest.approx(0.1 / 206264.806 / 2, rel=1e-6)
    psf = run(stage)
    y, _ = np.indices(psf.shape)
    assert (psf * y).sum() / psf.sum() > (psf.shape[0] - 1) / 2 + 0.5


def test_scene_keys():
    k = diffract.KolmogorovWFE(r0=20 * u.cm, seed=5)._scene_table("pupil")
    assert k["r0_m"] == pytest.approx(0.2) and k["r0_at_each_wavelength"] is True
    s = diffract.StatisticalPSDWFE(wfe=30 * u.nm)._scene_table("pupil")
    assert s["wfe_rms_m"] == pytest.approx(30e-9)
    g = diffract.GaussianAperture(w=0.5)
    assert g._pupil_diameter() == pytest.approx(3 * 0.5 * 2 * np.sqrt(np.log(2)))


@pytest.mark.parametrize(
    "call, what",
    [
        (lambda: diffract.ParameterizedWFE(basis_factory=None), "basis_factory"),
        (lambda: diffract.ParameterizedWFE(basis_factory=np.sin), "sin"),
        (lambda: diffract.zernike.zernike_basis(5), "basis_factory"),
        (
            lambda: diffract.PowerSpectrumWFE(psd_parameters=[[1, 2, 3, 4, 5]], screen_size=64),
            "screen_size",
        ),
        (lambda: diffract.ContinuousDeformableMirror(actuator_mask_file="m.fits"), "mask"),
        (lambda: diffract.ContinuousDeformableMirror(shift_x=0.1), "shift"),
        (lambda: diffract.BarOcculter(height=5), "10 arcsec"),
        (lambda: diffract.KeystoneSegmentedCircularAperture(gray_pixel=True), "gray_pixel"),
    ],
)
def test_missing(call, what):
    with pytest.raises((NotImplementedError, ValueError), match=what):
        call()


def lyot_system():
    osys = diffract.OpticalSystem(name="lyot", npix=64, oversample=2)
    osys.add_pupil(diffract.CircularAperture(radius=1.0))
    osys.add_image(diffract.CircularOcculter(radius=0.2))
    osys.add_pupil(diffract.CircularAperture(radius=0.9))
    osys.add_detector(pixelscale=0.05, fov_pixels=16)
    return osys


def test_coronagraph_wrappers_write_the_coronagraph_table():
    sam = diffract.SemiAnalyticCoronagraph(lyot_system(), occulter_box=0.3)
    assert "[coronagraph]" in sam.describe() and 'method = "semi_analytic"' in sam.describe()
    assert sam.occulter is sam.planes[1] and sam.detector is sam.planes[-1]
    fft = lyot_system().calc_psf(1e-6)[0].data
    semi = sam.calc_psf(1e-6)[0].data
    assert semi.shape == fft.shape
    # The same coronagraph; the FFT's occulter is coarser, so only roughly the same light.
    assert semi.sum() == pytest.approx(fft.sum(), rel=0.3)
    mft = diffract.MatrixFTCoronagraph(lyot_system(), occulter_box=1.0)
    assert 'method = "matrix_ft"' in mft.describe()


def test_coronagraph_wrapper_errors():
    with pytest.raises(ValueError, match="not of the right type"):
        diffract.SemiAnalyticCoronagraph(lyot_system(), fpm_index=0)
    with pytest.raises(NotImplementedError, match="square"):
        diffract.SemiAnalyticCoronagraph(lyot_system(), occulter_box=(0.2, 0.3))
    short = diffract.OpticalSystem()
    short.add_pupil(diffract.CircularAperture())
    with pytest.raises(ValueError, match="at least 4 planes"):
        diffract.MatrixFTCoronagraph(short)
