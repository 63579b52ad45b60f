"""Reference arrays for diffract's wavefront-error library, computed with POPPY 1.1.2.

usage: python make_wfe_reference.py [--out DIR]   (default: this file's directory)

Writes DIR/wfe_reference.fits, images one per HDU named by EXTNAME: arrays in float32
(their rounding, 6e-8 relative, is far below the 1e-4 the tests allow; it halves the
file), fitted coefficients in float64. A basis
cube of nterms terms on npix x npix samples is stored as one 2-D image of
(nterms * npix) rows by npix columns (term k in rows k*npix .. (k+1)*npix), with 0
outside each term's support. Header cards give the parameters used. Coefficients fitted
by POPPY are stored as 1 x n images.

The PSFs of the scenes using these optics are made by ../poppy_reference.py from
../more/cases/*.toml into ../more/expected (see the end of this script).
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import poppy
from astropy.io import fits
from poppy import zernike

NPIX_BASIS = 33
NTERMS = 10


def cube_hdu(name, cube, **cards):
    cube = np.nan_to_num(np.asarray(cube, dtype=float), nan=0.0)
    nterms, npix, _ = cube.shape
    hdu = fits.ImageHDU(cube.reshape(nterms * npix, npix).astype(np.float32), name=name)
    hdu.header["NTERMS"] = nterms
    hdu.header["NPIX"] = npix
    for key, value in cards.items():
        hdu.header[key] = value
    return hdu


def image_hdu(name, data, dtype=np.float32, **cards):
    hdu = fits.ImageHDU(np.asarray(data, dtype=dtype), name=name)
    for key, value in cards.items():
        hdu.header[key] = value
    return hdu


def optic_opd(optic, npix, diam):
    wave = poppy.Wavefront(diam=diam, npix=npix, oversample=1)
    return optic.get_opd(wave)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=here)
    args = ap.parse_args()
    hdus = [fits.PrimaryHDU()]
    hdus[0].header["POPPYVER"] = poppy.__version__

    # Bases on POPPY's default npix grids.
    hdus.append(cube_hdu("ZERNIKE", zernike.zernike_basis(NTERMS, npix=NPIX_BASIS, outside=0.0)))
    hdus.append(cube_hdu("HEXIKE", zernike.hexike_basis(NTERMS, npix=NPIX_BASIS, outside=0.0)))
    square = poppy.SquareAperture(size=1.0).sample(npix=NPIX_BASIS, grid_size=1.1)
    hdus.append(image_hdu("SQUARE", square, GRIDSIZE=1.1, SIZE=1.0))
    hdus.append(cube_hdu("ARBITRARY", zernike.arbitrary_basis(square, nterms=NTERMS, outside=0.0)))
    ptt = zernike.Segment_PTT_Basis(rings=1, flattoflat=1.0, gap=0.01, center=True)
    hdus.append(cube_hdu("PTT", ptt(npix=NPIX_BASIS, outside=0.0), RINGS=1, FLAT2FLT=1.0,
                         GAP=0.01, CENTER=True))

    # Fits: an OPD of known Zernikes on a clear circle and on an obscured one.
    coeffs = [0.0, 1e-8, -2e-8, 3e-8, 0.5e-8, -1e-8, 2e-9, 0.0, 4e-9, -3e-9]
    zb = zernike.zernike_basis(NTERMS, npix=NPIX_BASIS)
    opd = np.einsum("i,ijk->jk", np.asarray(coeffs), zb)
    ap = np.isfinite(opd).astype(float)
    y, x = np.indices(ap.shape) - (NPIX_BASIS - 1) / 2
    ap[np.hypot(x, y) < 5] = 0.0
    hdus.append(image_hdu("FIT_OPD", np.nan_to_num(opd, nan=0.0)))
    hdus.append(image_hdu("FIT_APER", ap))
    hdus.append(image_hdu("FIT_PROJ", dtype=float, data=[zernike.decompose_opd(opd, nterms=NTERMS)]))
    opd_ob = np.where(ap > 0, opd, np.nan)
    hdus.append(image_hdu("FIT_ITER", dtype=float, data=[zernike.decompose_opd_nonorthonormal_basis(
        opd_ob, aperture=ap, nterms=NTERMS)], NITER=5))
    hex_opd = zernike.compose_opd_from_basis(coeffs, basis=zernike.hexike_basis,
                                             npix=NPIX_BASIS, outside=0.0)
    hdus.append(image_hdu("HEX_OPD", hex_opd))
    hdus.append(image_hdu("HEX_PROJ", dtype=float, data=[zernike.decompose_opd(
        np.where(hex_opd != 0, hex_opd, np.nan), nterms=NTERMS, basis=zernike.hexike_basis)]))

    # OPDs of the analytic wavefront-error optics on a 64-pixel, 2.2 m pupil.
    npix, diam = 64, 2.2
    sine = poppy.SineWaveWFE(spatialfreq=2.5, amplitude=4e-8, phaseoffset=0.15, rotation=30.0)
    hdus.append(image_hdu("SINE_OPD", optic_opd(sine, npix, diam), NPIX=npix, DIAM=diam,
                          FREQ=2.5, AMPL=4e-8, PHASE=0.15, ROT=30.0))
    for name, factory in (("PARZ_OPD", zernike.zernike_basis), ("PARH_OPD", zernike.hexike_basis)):
        par = poppy.ParameterizedWFE(coefficients=coeffs, radius=1.0, basis_factory=factory)
        hdus.append(image_hdu(name, optic_opd(par, npix, diam), NPIX=npix, DIAM=diam,
                              RADIUS=1.0))
    for k, c in enumerate(coeffs):
        hdus[-1].header[f"COEF{k + 1}"] = c
    fits.HDUList(hdus).writeto(os.path.join(args.out, "wfe_reference.fits"), overwrite=True)
    print("wrote", os.path.join(args.out, "wfe_reference.fits"))

    # PSFs of scenes using these optics, by the project's common reference script.
    data = os.path.dirname(here)
    cases = [os.path.join(data, "more", "cases", c + ".toml")
             for c in ("sine_wave_offset", "parameterized_hexike_segments",
                       "parameterized_zernike_obscured")]
    subprocess.run([sys.executable, os.path.join(data, "poppy_reference.py"), *cases,
                    "--out", os.path.join(data, "more", "expected")], check=True)


if __name__ == "__main__":
    main()
