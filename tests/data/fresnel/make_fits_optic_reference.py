"""POPPY 1.1.2 reference for a FITS optic in a Fresnel system (after POPPY's
test_fresnel_FITS_Optical_element, matched pixel scale, with the default gray-edged
aperture): writes astigmatism_opd.fits (the
OPD of ZernikeWFE(radius=1 m, coefficients=[0, 0, 0, 0, 0, 1e-7]) on 128 pixels across
2 m) and expected/fresnel_fits_optic.fits (the PSF at the focus of a 1 m lens).

usage: python make_fits_optic_reference.py   (run from this folder, with poppy 1.1.2)
"""

import astropy.units as u
from poppy import fresnel, optics, poppy_core, wfe

radius = 1.0 * u.m
npix = 128
zern = wfe.ZernikeWFE(radius=radius, coefficients=[0, 0, 0, 0, 0, 1e-7])
hdul = zern.to_fits(what="opd", grid_size=2 * radius, npix=npix)
hdul.writeto("astigmatism_opd.fits", overwrite=True)
surf = poppy_core.FITSOpticalElement(
    opd="astigmatism_opd.fits", planetype=poppy_core._INTERMED, oversample=1
)
osys = fresnel.FresnelOpticalSystem(
    pupil_diameter=2 * radius, beam_ratio=0.25, npix=npix
)
osys.add_optic(optics.CircularAperture(radius=radius))
osys.add_optic(surf)
osys.add_optic(fresnel.QuadraticLens(1.0 * u.m))
osys.add_optic(optics.ScalarTransmission(name="focus"), distance=1 * u.m)
psf = osys.calc_psf(wavelength=1e-6)
psf.writeto("expected/fresnel_fits_optic.fits", overwrite=True)
print(
    "peak", psf[0].data.max(), "sum", psf[0].data.sum(), "header", dict(hdul[0].header)
)
