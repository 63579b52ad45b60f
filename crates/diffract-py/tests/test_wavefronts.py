"""Wavefronts from Python: calc_psf(return_intermediates / return_final),
OpticalSystem.input_wavefront and propagate, against POPPY 1.1.2's wavefronts stored by
data/make_wavefronts.py (data/wavefronts.npz)."""

import importlib.util
from pathlib import Path

import astropy.units as u
import diffract
import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
REFERENCE = np.load(DATA / "wavefronts.npz")

# Relative L2 distance allowed from POPPY's complex fields: the package's promise (1e-4)
# is far above what the same arithmetic gives in double precision (~1e-14), so a wrong
# sign, centre or normalisation fails.
TOLERANCE = 1e-10


@pytest.fixture(autouse=True)
def double_precision(monkeypatch):
    """These tests compare with POPPY to 1e-10: double precision throughout."""
    monkeypatch.setattr(diffract.conf, "precision", "f64")


def _systems():
    spec = importlib.util.spec_from_file_location("make_wavefronts", DATA / "make_wavefronts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.systems(diffract), module.SPECTRA


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize(
    ("system", "spectrum"), [("imaging", "mono"), ("imaging", "poly"), ("lyot", "mono")]
)
def test_intermediates_match_poppy(system, spectrum):
    systems, spectra = _systems()
    osys = systems[system]
    waves, weights = spectra[spectrum]
    psf, wfs = osys.calc_psf(wavelength=waves, weight=weights, return_intermediates=True)
    assert len(wfs) == len(osys.planes)
    for i, wf in enumerate(wfs):
        ref = REFERENCE[f"{system}_{spectrum}_{i}"]
        if wf.shape != ref.shape:
            # A pupil before the detector keeps only the central npix x npix samples
            # (POPPY keeps the padding, where the stop lets no light through).
            o = (ref.shape[0] - wf.shape[0]) // 2
            inner = ref[o : o + wf.shape[0], o : o + wf.shape[1]]
            assert np.linalg.norm(ref) ** 2 - np.linalg.norm(inner) ** 2 <= 1e-20
            ref = inner
        # POPPY's intermediate wavefronts, relative L2 <= TOLERANCE.
        assert _rel(wf.wavefront, ref) <= TOLERANCE, f"plane {i}: {_rel(wf.wavefront, ref)}"
    # The PSF is the one calc_psf gives without intermediates (to rounding: the system is
    # then planned with its pupil optics merged).
    plain = osys.calc_psf(wavelength=waves, weight=weights)
    assert _rel(psf[0].data, plain[0].data) <= 1e-12
    assert wfs[0].planetype == diffract.PlaneType.pupil
    assert wfs[-1].planetype == diffract.PlaneType.detector
    assert wfs[-1].pixelscale.unit == u.arcsec / u.pixel
    assert wfs[0].wavelength == waves[0] * u.m


@pytest.mark.parametrize(("system", "spectrum"), [("imaging", "mono"), ("imaging", "poly")])
def test_final_matches_poppy(system, spectrum):
    systems, spectra = _systems()
    waves, weights = spectra[spectrum]
    _, final = systems[system].calc_psf(wavelength=waves, weight=weights, return_final=True)
    assert len(final) == 1
    ref = REFERENCE[f"{system}_{spectrum}_final"]
    # POPPY's final wavefront, relative L2 <= TOLERANCE.
    assert _rel(final[0].wavefront, ref) <= TOLERANCE


def test_the_final_intensity_is_the_monochromatic_psf():
    systems, _ = _systems()
    psf, final = systems["imaging"].calc_psf(1e-6, return_final=True)
    # Relative L2 1e-12: the same field, squared.
    assert _rel(final[0].intensity, psf[0].data) <= 1e-12


def test_poly_fft_image_planes_cannot_be_summed():
    systems, spectra = _systems()
    waves, weights = spectra["poly"]
    with pytest.raises(ValueError, match="same pixelscale"):
        systems["lyot"].calc_psf(wavelength=waves, weight=weights, return_intermediates=True)


@pytest.mark.parametrize("system", ["imaging", "lyot"])
def test_input_and_propagate_match_poppy(system):
    systems, _ = _systems()
    osys = systems[system]
    inwave = osys.input_wavefront(1e-6)
    assert _rel(inwave.wavefront, REFERENCE[f"{system}_input"]) <= 1e-15  # all ones
    final = osys.propagate(inwave)
    # POPPY's propagate (normalize="none"), relative L2 <= TOLERANCE.
    assert _rel(final.wavefront, REFERENCE[f"{system}_propagated"]) <= TOLERANCE
    last, wfs = osys.propagate(inwave, return_intermediates=True)
    assert len(wfs) == len(osys.planes)
    assert _rel(last.wavefront, REFERENCE[f"{system}_propagated"]) <= TOLERANCE


def test_propagate_normalize_first_is_calc_psf():
    systems, _ = _systems()
    osys = systems["imaging"]
    psf = osys.calc_psf(1e-6)
    final = osys.propagate(osys.input_wavefront(1e-6), normalize="first")
    # Relative L2 1e-12 from calc_psf's oversampled PSF (normalised after the first optic).
    assert _rel(final.intensity, psf[0].data) <= 1e-12


def test_tilted_input_matches_poppy():
    systems, _ = _systems()
    osys = systems["imaging"]
    osys.source_offset_r = 0.2
    osys.source_offset_theta = 30
    wf = osys.input_wavefront(1e-6)
    # POPPY's tilted input wavefront, relative L2 <= 1e-12.
    assert _rel(wf.wavefront, REFERENCE["imaging_tilted_input"]) <= 1e-12


def test_wavefront_object():
    wf = diffract.Wavefront(wavelength=2e-6, npix=16, diam=2.0)
    assert wf.shape == (16, 16)
    assert wf.pixelscale == 0.125 * u.m / u.pixel
    assert wf.total_intensity == 256
    wf.normalize()
    assert wf.total_intensity == pytest.approx(1.0, rel=1e-14)
    doubled = wf * 2
    assert doubled.total_intensity == pytest.approx(4.0, rel=1e-14)
    assert (wf + wf).total_intensity == pytest.approx(4.0, rel=1e-14)
    with pytest.raises(ValueError, match="same shape"):
        wf += diffract.Wavefront(npix=8, diam=1.0)
    hdul = wf.as_fits(what="all")
    assert hdul[0].data.shape == (3, 16, 16)
    assert hdul[0].header["PIXUNIT"] == "meter"
    assert hdul[0].header["WAVELEN"] == 2e-6
    with pytest.raises(ValueError, match="Unknown"):
        wf.as_fits(what="nothing")
    with pytest.raises(NotImplementedError, match="optic"):
        wf *= diffract.CircularAperture()


def test_save_intermediates_writes_every_plane(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    systems, _ = _systems()
    systems["imaging"].calc_psf(1e-6, save_intermediates=True, save_intermediates_what="parts")
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [f"wavefront_plane_{i:03d}.fits" for i in range(4)]


def test_progress_callback_counts_wavelengths(capsys):
    systems, _ = _systems()
    systems["imaging"].calc_psf([1.0e-6, 1.1e-6, 1.2e-6], progressbar=True)
    err = capsys.readouterr().err
    # tqdm's bar or the plain line: all three wavelengths counted.
    assert "3/3" in err, err


def test_fresnel_intermediates():
    osys = diffract.FresnelOpticalSystem(pupil_diameter=0.05, npix=32, beam_ratio=0.25)
    osys.add_optic(diffract.CircularAperture(radius=0.025))
    osys.add_optic(diffract.QuadraticLens(f_lens=1.0), distance=0.0)
    osys.add_detector(pixelscale=10e-6, fov_pixels=16, distance=1.0)
    psf, wfs = osys.calc_psf(1e-6, return_intermediates=True)
    assert len(wfs) == 3
    assert wfs[-1].z.to_value(u.m) == pytest.approx(1.0)
    # The detector's intensity is the PSF: relative L2 1e-12.
    assert _rel(wfs[-1].intensity, psf[0].data) <= 1e-12
