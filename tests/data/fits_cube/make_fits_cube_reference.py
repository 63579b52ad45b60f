"""POPPY 1.1.2 reference for a fits_optic whose files are 3-D cubes (slice selection).

Writes transmission_cube.fits (three 96 x 96 pupils of 0.025 m: a circle, an annulus with
four spiders, a hexagon) and opd_cube.fits (three OPDs in metres: 60 nm times
astigmatism, coma and trefoil maps over a 1.2 m radius), then the PSFs POPPY computes with
FITSOpticalElement(transmission=..., transmission_index=1, opd=..., opd_index=2) as the
first optic (expected_slices.fits) and with the default slice 0 of both
(expected_default.fits), on a 48-pixel detector at 0.015 arcsec, oversample 2, 1 um.

usage: python make_fits_cube_reference.py   (run from this folder, with poppy 1.1.2)
"""

import os
import warnings

import numpy as np
import poppy
from astropy.io import fits

poppy.conf.use_multiprocessing = False
poppy.conf.use_fftw = False
warnings.simplefilter("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))
N, SCALE = 96, 0.025
y, x = (np.indices((N, N), dtype=float) - (N - 1) / 2) * SCALE
r = np.hypot(x, y)
theta = np.arctan2(y, x)

circle = r <= 1.15
spiders = (np.abs(x) < 0.02) | (np.abs(y) < 0.02)
annulus = (r <= 1.15) & (r >= 0.35) & ~spiders
# A hexagon with flat sides at +-y, circumradius 1.15.
a = 1.15
hexagon = (np.abs(y) <= a * np.sqrt(3) / 2) & (np.abs(x) <= a - np.abs(y) / np.sqrt(3))
transmission = np.stack([circle, annulus, hexagon]).astype(np.float64)

rho = r / 1.2
zernikes = [
    np.sqrt(6) * rho**2 * np.cos(2 * theta),
    np.sqrt(8) * (3 * rho**3 - 2 * rho) * np.sin(theta),
    np.sqrt(8) * rho**3 * np.sin(3 * theta),
]
opd = np.stack([60e-9 * z for z in zernikes])

for name, cube in [("transmission_cube.fits", transmission), ("opd_cube.fits", opd)]:
    hdu = fits.PrimaryHDU(cube)
    hdu.header["PIXELSCL"] = SCALE
    if name.startswith("opd"):
        hdu.header["BUNIT"] = "meter"
    hdu.writeto(os.path.join(HERE, name), overwrite=True)


def psf(out, **index):
    osys = poppy.OpticalSystem(oversample=2)
    osys.add_pupil(
        poppy.FITSOpticalElement(
            transmission=os.path.join(HERE, "transmission_cube.fits"),
            opd=os.path.join(HERE, "opd_cube.fits"),
            planetype=poppy.poppy_core.PlaneType.pupil,
            **index,
        )
    )
    osys.add_detector(pixelscale=0.015, fov_pixels=48)
    hdul = osys.calc_psf(wavelength=1e-6, display=False)
    fits.HDUList([fits.PrimaryHDU(hdul[0].data, hdul[0].header)]).writeto(
        os.path.join(HERE, out), overwrite=True
    )
    print(out, "sum", hdul[0].data.sum(), "peak", hdul[0].data.max())


psf("expected_slices.fits", transmission_index=1, opd_index=2)
psf("expected_default.fits")
