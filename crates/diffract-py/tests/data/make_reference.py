"""Writes the POPPY 1.1.2 reference PSFs of ../tutorial_scripts.py beside this file.

usage: python make_reference.py [SCRIPT ...]   (under a Python with poppy 1.1.2, astropy,
numpy)
Writes <script>.fits for every script (or the ones named): POPPY's own calc_psf HDUList, unchanged; and
measurements.json: for the MEASURED scripts, POPPY's measure_ee (at EE_RADII arcsec), measure_radius_at_ee (at
EE_FRACTIONS), measure_fwhm and measure_centroid of each of those files.
"""

import json
import os
import sys

import poppy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tutorial_scripts import EE_FRACTIONS, EE_RADII, MEASURED, SCRIPTS

poppy.conf.use_multiprocessing = False
poppy.conf.use_fftw = False

if __name__ == "__main__":
    assert poppy.__version__.startswith("1.1.2"), poppy.__version__
    only = sys.argv[1:]
    unknown = sorted(set(only) - set(SCRIPTS))
    if unknown:
        sys.exit(f"unknown scripts: {unknown}")
    measured = {}
    for name, script in SCRIPTS.items():
        if only and name not in only:
            continue
        hdul = script(poppy)
        out = os.path.join(HERE, f"{name}.fits")
        hdul.writeto(out, overwrite=True)
        print(out, [h.name for h in hdul], hdul[0].data.shape, float(hdul[0].data.sum()))
        if name not in MEASURED:
            continue
        ee = poppy.utils.measure_ee(hdul)
        radius_at = poppy.utils.measure_radius_at_ee(hdul)
        measured[name] = {
            "ee": [float(ee(r)) for r in EE_RADII],
            "radius_at_ee": [float(radius_at(f)) for f in EE_FRACTIONS],
            "fwhm": float(poppy.utils.measure_fwhm(hdul)),
            "centroid": [float(c) for c in poppy.utils.measure_centroid(hdul)],
            "centroid_center_arcsec": [
                float(c)
                for c in poppy.utils.measure_centroid(hdul, units="arcsec", relativeto="center")
            ],
        }
    if only and not set(only) & set(MEASURED):
        sys.exit(0)
    with open(os.path.join(HERE, "measurements.json"), "w") as f:
        json.dump({"poppy": poppy.__version__, "measurements": measured}, f, indent=1)
        f.write("\n")
