"""Writes profiles.json beside this file: POPPY 1.1.2's radial_profile and measure_sharpness
on the reference PSFs of make_reference.py (FILES), for test_profiles.py.

usage: python make_profiles.py   (under a Python with poppy 1.1.2, astropy, numpy)

For every file and every case of CASES (keyword arguments of radial_profile, plus two of
this script's: "cube", run on the cube made by cube() with the given slice, and
"custom_function", the name of a numpy function), it stores the number of bins, the first
KEEP_RADII radii and KEEP values (and encircled energies with ee=True), the last of each
and NaN-ignoring sums over all of them; and
the sharpness of the file's PSF with the DET_SAMP extension made by with_det_samp().
Numbers are stored as Python's repr of the float64s, unrounded; NaN as NaN.
"""

import json
import os

import numpy as np
from astropy.io import fits

HERE = os.path.dirname(os.path.abspath(__file__))

FILES = ["obscured_zernike", "segmented_spiders"]
KEEP = 30  # values stored of each profile (and EE curve)
KEEP_RADII = 10

CASES = {
    "default": {},
    "ee": {"ee": True},
    "center": {"center": [60.3, 70.8]},
    "center_integer": {"center": [64, 61]},
    "binsize": {"binsize": 0.037},
    "binsize_small": {"binsize": 0.004, "ee": True},
    "maxradius": {"maxradius": 0.5, "ee": True},
    "stddev": {"stddev": True},
    "stddev_center_binsize": {"stddev": True, "center": [64, 64], "binsize": 0.05},
    "mad": {"mad": True, "binsize": 0.03},
    "custom_max": {"custom_function": "max", "maxradius": 0.4},
    "normalize_peak": {"normalize": "peak"},
    "normalize_total": {"normalize": "total", "ee": True},
    "pa_range": {"pa_range": [-30, 45]},
    "pa_range_wedge": {"pa_range": [100, 112], "center": [40.0, 70.5], "ee": True},
    "pa_range_stddev": {"pa_range": [-120, -60], "stddev": True, "binsize": 0.04},
    "cube_slice": {"cube": True, "slice": 1, "normalize": "peak"},
}


def cube(hdul):
    """A two-plane cube: the PSF and its transpose."""
    data = hdul[0].data
    header = hdul[0].header.copy()
    return fits.HDUList([fits.PrimaryHDU(np.stack([data, data.T]), header)])


def with_det_samp(hdul):
    """The PSF with a DET_SAMP extension: OVERSAMP x OVERSAMP blocks summed."""
    data = hdul[0].data
    o = int(hdul[0].header["OVERSAMP"])
    ny, nx = data.shape
    det = data.reshape(ny // o, o, nx // o, o).sum(axis=(1, 3))
    return fits.HDUList(
        [fits.PrimaryHDU(data, hdul[0].header.copy()), fits.ImageHDU(det, name="DET_SAMP")]
    )


def call_arguments(case, hdul):
    """radial_profile's input and keyword arguments for a case."""
    kwargs = dict(case)
    if kwargs.pop("cube", False):
        hdul = cube(hdul)
    if "custom_function" in kwargs:
        kwargs["custom_function"] = getattr(np, kwargs["custom_function"])
    return hdul, kwargs


def summary(result):
    out = {"n": len(result[0])}
    for name, values in zip(["radius", "profile", "ee"], result):
        values = np.asarray(values, dtype=float)
        keep = KEEP_RADII if name == "radius" else KEEP
        out[name] = [float(v) for v in values[:keep]]
        out[f"{name}_len"] = len(values)
        out[f"{name}_nansum"] = float(np.nansum(values))
        out[f"{name}_last"] = float(values[-1])
    return out


if __name__ == "__main__":
    import poppy  # here, so that test_profiles.py can use CASES and the helpers without it

    assert poppy.__version__.startswith("1.1.2"), poppy.__version__
    profiles = {}
    sharpness = {}
    for name in FILES:
        with fits.open(os.path.join(HERE, f"{name}.fits")) as f:
            hdul = fits.HDUList([fits.PrimaryHDU(f[0].data.copy(), f[0].header.copy())])
        for case_name, case in CASES.items():
            data, kwargs = call_arguments(case, hdul)
            profiles[f"{name}/{case_name}"] = summary(poppy.utils.radial_profile(data, **kwargs))
        sharpness[name] = float(poppy.utils.measure_sharpness(with_det_samp(hdul)))
    with open(os.path.join(HERE, "profiles.json"), "w") as f:
        json.dump(
            {
                "poppy": poppy.__version__,
                "numpy": np.__version__,
                "cases": CASES,
                "radial_profile": profiles,
                "measure_sharpness": sharpness,
            },
            f,
            indent=1,
        )
        f.write("\n")
    print(os.path.join(HERE, "profiles.json"), len(profiles), "profiles")
