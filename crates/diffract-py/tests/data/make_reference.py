"""Writes the POPPY 1.1.2 reference PSFs of ../tutorial_scripts.py beside this file.

usage: python make_reference.py   (under a Python with poppy 1.1.2, astropy, numpy)
Writes <script>.fits for every script: POPPY's own calc_psf HDUList, unchanged.
"""

import os
import sys

import poppy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tutorial_scripts import SCRIPTS  # noqa: E402

poppy.conf.use_multiprocessing = False
poppy.conf.use_fftw = False

if __name__ == "__main__":
    assert poppy.__version__.startswith("1.1.2"), poppy.__version__
    for name, script in SCRIPTS.items():
        hdul = script(poppy)
        out = os.path.join(HERE, f"{name}.fits")
        hdul.writeto(out, overwrite=True)
        print(out, [h.name for h in hdul], hdul[0].data.shape, float(hdul[0].data.sum()))
