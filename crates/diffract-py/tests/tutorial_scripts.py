"""POPPY tutorial-style scripts, written once against a module called ``poppy``.

Each function takes the module to run on: ``poppy`` itself (``data/make_reference.py``
stores the result as a FITS file under POPPY 1.1.2) or ``diffract`` (the parity tests), so
the two runs differ only in the import, as a user's script would.
"""

import astropy.units as u
import numpy as np
from astropy.io import fits

# POPPY's own numbers for a 6.5 m telescope, three wavelengths across 2 microns.
SOURCE = {"wavelengths": [1.8e-6, 2.0e-6, 2.2e-6], "weights": [0.3, 0.4, 0.3]}


def obscured_zernike(poppy):
    """A circular pupil (radius as a Quantity) with a secondary on three spiders and
    low-order Zernike wavefront error, polychromatic."""
    osys = poppy.OpticalSystem(name="obscured_zernike", npix=256, oversample=2)
    osys.add_pupil(poppy.CircularAperture(radius=3.25 * u.m))
    osys.add_pupil(
        poppy.SecondaryObscuration(secondary_radius=0.5, n_supports=3, support_width=0.1)
    )
    osys.add_pupil(
        poppy.ZernikeWFE(radius=3.25, coefficients=[0.0, 0.0, 0.0, 50e-9, 20e-9, -30e-9, 10e-9])
    )
    osys.add_detector(pixelscale=0.031, fov_arcsec=2.0)
    return osys.calc_psf(source=SOURCE)


def segmented_spiders(poppy):
    """Two rings of hexagonal segments behind a secondary on four spiders, with defocus
    and astigmatism in nanometres, wavelengths as a Quantity array with weights."""
    osys = poppy.OpticalSystem(name="segmented_spiders", npix=256, oversample=2)
    osys.add_pupil(poppy.MultiHexagonAperture(rings=2, flattoflat=1.2, gap=0.05))
    osys.add_pupil(
        poppy.SecondaryObscuration(secondary_radius=0.6 * u.m, n_supports=4, support_width=5 * u.cm)
    )
    osys.add_pupil(poppy.ZernikeWFE(radius=3.3, coefficients=[0, 0, 0, 40, 0, 25] * u.nm))
    osys.add_detector(pixelscale=0.02 * u.arcsec / u.pixel, fov_pixels=64)
    return osys.calc_psf(wavelength=[1.0, 1.1, 1.2] * u.micron, weight=[1.0, 2.0, 1.0])


def lyot_coronagraph(poppy):
    """A Lyot coronagraph: a 2 m pupil, an occulting spot of 0.3 arcsec in the image
    plane, a Lyot stop undersized to 90%, one wavelength."""
    osys = poppy.OpticalSystem(name="lyot_coronagraph", npix=256, oversample=4)
    osys.add_pupil(poppy.CircularAperture(radius=1.0))
    osys.add_image(poppy.CircularOcculter(radius=0.3 * u.arcsec))
    osys.add_pupil(poppy.CircularAperture(radius=0.9))
    osys.add_detector(pixelscale=0.025, fov_arcsec=2.0)
    return osys.calc_psf(wavelength=1e-6)


def segmented_circles_lens(poppy):
    """Seven circular segments, defocus from a thin lens, and an inverted hexagon (a
    polygon turned by 15 degrees) darkening the centre; three wavelengths."""
    osys = poppy.OpticalSystem(name="segmented_circles_lens", npix=256, oversample=2)
    osys.add_pupil(poppy.MultiCircularAperture(rings=1, segment_radius=0.5, gap=0.05))
    osys.add_pupil(poppy.ThinLens(nwaves=0.5, reference_wavelength=1.5e-6, radius=1.6))
    osys.add_pupil(poppy.InverseTransmission(poppy.NgonAperture(nsides=6, radius=0.3, rotation=15)))
    osys.add_detector(pixelscale=0.05, fov_pixels=48)
    return osys.calc_psf(wavelength=[1.4e-6, 1.5e-6, 1.6e-6])


def field_stops(poppy):
    """Two image planes: an annular field stop, then a rotated rectangular one, each
    followed by a pupil stop; the second image plane shifted off axis."""
    osys = poppy.OpticalSystem(name="field_stops", npix=128, oversample=2)
    osys.add_pupil(poppy.CircularAperture(radius=1.0))
    osys.add_image(poppy.AnnularFieldStop(radius_inner=0.1, radius_outer=1.5))
    osys.add_pupil(poppy.CircularAperture(radius=0.95))
    osys.add_image(poppy.RectangularFieldStop(width=1.0, height=3.0, rotation=30, shift_x=0.05))
    osys.add_pupil(poppy.SquareAperture(size=1.6))
    osys.add_detector(pixelscale=0.04, fov_arcsec=2.0)
    return osys.calc_psf(wavelength=1.2e-6)


def _pupil_arrays(n, radius_px):
    """A gray-free circular pupil with a vertical bar and a tilted, defocused OPD in
    metres, ``n`` pixels across: plain numpy, as a user builds an optic."""
    y, x = (np.indices((n, n)) - (n - 1) / 2) / radius_px
    r2 = x**2 + y**2
    transmission = ((r2 <= 1) & (np.abs(x) > 0.04)).astype(float)
    opd = np.where(r2 <= 1, 40e-9 * (2 * r2 - 1) + 25e-9 * x - 15e-9 * y**3, 0.0)
    return transmission, opd


def array_optic(poppy):
    """An ArrayOpticalElement pupil from numpy arrays (transmission and OPD) at 1 cm per
    pixel, with a circular aperture after it, polychromatic."""
    transmission, opd = _pupil_arrays(128, 60)
    osys = poppy.OpticalSystem(name="array_optic", oversample=2, pupil_diameter=1.28)
    osys.add_pupil(
        poppy.ArrayOpticalElement(
            transmission=transmission, opd=opd, pixelscale=0.01 * u.m / u.pixel, name="pupil"
        )
    )
    osys.add_pupil(poppy.SecondaryObscuration(secondary_radius=0.1, support_width=0.02))
    osys.add_detector(pixelscale=0.05, fov_pixels=40)
    return osys.calc_psf(wavelength=[0.9e-6, 1.0e-6, 1.1e-6], weight=[1, 2, 1])


def fits_optic(poppy):
    """A FITSOpticalElement from in-memory FITS files: a transmission cube (slice 1 used),
    an OPD in nanometres (BUNIT) flipped and turned by 90 degrees, the pixel scale read
    from a header keyword named by the script."""
    transmission, opd = _pupil_arrays(96, 44)
    cube = np.stack([np.ones_like(transmission), transmission])
    t_hdul = fits.HDUList([fits.PrimaryHDU(cube)])
    t_hdul[0].header["PIXELSCL"] = 0.02
    o_hdul = fits.HDUList([fits.PrimaryHDU(opd * 1e9)])
    o_hdul[0].header["BUNIT"] = "nm"
    o_hdul[0].header["PIXELSCL"] = 0.02
    optic = poppy.FITSOpticalElement(
        transmission=t_hdul,
        opd=o_hdul,
        transmission_index=1,
        pixelscale="PIXELSCL",
        flip_x=True,
        rotation=90,
    )
    osys = poppy.OpticalSystem(name="fits_optic", oversample=2)
    osys.add_pupil(optic)
    osys.add_pupil(poppy.CircularAperture(radius=0.85))
    osys.add_detector(pixelscale=0.08, fov_arcsec=3.2)
    return osys.calc_psf(wavelength=1.5e-6)


def deformable_mirrors(poppy):
    """A continuous DM (actuators set one by one and a surface in nanometres) behind a
    circular pupil, then a hexagonally segmented DM with pistons and tilts, two
    wavelengths."""
    osys = poppy.OpticalSystem(name="deformable_mirrors", npix=128, oversample=2)
    osys.add_pupil(poppy.CircularAperture(radius=1.0, pad_factor=1.1))
    dm = poppy.ContinuousDeformableMirror(dm_shape=(8, 8), radius=1.0)
    surface = np.zeros((8, 8))
    surface[2, 5] = 30.0
    surface[6, 1] = -20.0
    dm.set_surface(surface * u.nm)
    dm.set_actuator(3, 4, 50e-9)
    dm.set_actuator(4, 4, -40 * u.nm)
    osys.add_pupil(dm)
    hexdm = poppy.HexSegmentedDeformableMirror(rings=1, flattoflat=0.6, gap=0.02)
    hexdm.set_actuator(0, 60 * u.nm, 0, 0)
    hexdm.set_actuator(2, 0, 2e-7, 0)
    hexdm.set_actuator(5, -30e-9, 0, -1.5e-7 * u.radian)
    osys.add_pupil(hexdm)
    osys.add_detector(pixelscale=0.04, fov_pixels=40)
    return osys.calc_psf(wavelength=[1.0e-6, 1.2e-6])


def semi_analytic_lyot(poppy):
    """A Lyot coronagraph computed by the semi-analytic method (POPPY's
    SemiAnalyticCoronagraph wrapping an ordinary system), one wavelength."""
    osys = poppy.OpticalSystem(name="semi_analytic_lyot", npix=128, oversample=2)
    osys.add_pupil(poppy.CircularAperture(radius=1.0))
    osys.add_image(poppy.CircularOcculter(radius=0.25))
    osys.add_pupil(poppy.CircularAperture(radius=0.85))
    osys.add_detector(pixelscale=0.02, fov_arcsec=1.2)
    sam = poppy.SemiAnalyticCoronagraph(osys, oversample=8, occulter_box=0.3)
    return sam.calc_psf(wavelength=1.1e-6)


def fresnel_telescope(poppy):
    """A Fresnel system: an obscured 0.5 m pupil focused by a quadratic lens of 5 m onto a
    detector in metres per pixel, two wavelengths."""
    fosys = poppy.FresnelOpticalSystem(
        name="fresnel_telescope", pupil_diameter=0.5 * u.m, npix=64, beam_ratio=0.25
    )
    fosys.add_optic(poppy.CircularAperture(radius=0.25))
    fosys.add_optic(
        poppy.SecondaryObscuration(secondary_radius=0.06, n_supports=3, support_width=0.01)
    )
    fosys.add_optic(poppy.QuadraticLens(f_lens=5.0 * u.m, name="primary"))
    fosys.add_detector(pixelscale=5 * u.micron / u.pixel, fov_pixels=40, distance=5.0 * u.m)
    return fosys.calc_psf(wavelength=[0.9e-6, 1.1e-6])


def notebook_session(poppy):
    """A notebook session end to end: a segmented pupil with spiders and Zernike wavefront
    error, a polychromatic PSF, its encircled energy, and the pictures (display_psf,
    display_profiles) drawn off screen; the energy within 0.1 and 0.2 arcsec is kept in the
    header, as a user would note it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    osys = poppy.OpticalSystem(name="notebook_session", npix=256, oversample=2)
    osys.add_pupil(poppy.MultiHexagonAperture(rings=1, flattoflat=2.0, gap=0.04))
    osys.add_pupil(
        poppy.SecondaryObscuration(secondary_radius=0.8, n_supports=3, support_width=0.1)
    )
    osys.add_pupil(poppy.ZernikeWFE(radius=3.2, coefficients=[0, 0, 0, 30e-9, -20e-9, 15e-9]))
    osys.add_detector(pixelscale=0.015, fov_arcsec=1.5)
    psf = osys.calc_psf(source=SOURCE)
    plt.figure(figsize=(12, 5))
    plt.subplot(1, 2, 1)
    poppy.display_psf(psf, title="PSF", vmin=1e-8, vmax=1e-2)
    plt.subplot(1, 2, 2)
    poppy.display_profiles(psf)
    plt.close("all")
    ee = poppy.measure_ee(psf)
    psf[0].header["EE100MAS"] = (float(ee(0.1)), "Encircled energy within 0.1 arcsec")
    psf[0].header["EE200MAS"] = (float(ee(0.2)), "Encircled energy within 0.2 arcsec")
    return psf


# Where the tests compare POPPY's measurements with diffract's: radii in arcsec for
# measure_ee, energy fractions for measure_radius_at_ee.
EE_RADII = [0.05, 0.1, 0.2, 0.4, 0.6]
EE_FRACTIONS = [0.3, 0.5, 0.7]
# The scripts measured (a coronagraph's dark core is no PSF to fit a Gaussian to).
MEASURED = ["obscured_zernike", "segmented_spiders"]

SCRIPTS = {
    "obscured_zernike": obscured_zernike,
    "segmented_spiders": segmented_spiders,
    "lyot_coronagraph": lyot_coronagraph,
    "segmented_circles_lens": segmented_circles_lens,
    "field_stops": field_stops,
    "array_optic": array_optic,
    "fits_optic": fits_optic,
    "deformable_mirrors": deformable_mirrors,
    "semi_analytic_lyot": semi_analytic_lyot,
    "fresnel_telescope": fresnel_telescope,
    "notebook_session": notebook_session,
}
