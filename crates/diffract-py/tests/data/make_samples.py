"""Makes samples.npz: POPPY 1.1.2's sample() and get_* arrays of analytic optics, for
test_samples.py. Run once with a Python that has poppy==1.1.2 (from this folder):

    python make_samples.py

`CASES(poppy)` builds each optic with the arguments of `sample()`; the test builds the same
optics with diffract in place of poppy."""

import numpy as np


def cases(poppy):
    """name -> (optic, sample() keywords)."""
    return {
        "circle": (poppy.CircularAperture(radius=1.0), {"npix": 64, "grid_size": 2.5}),
        "circle_shifted": (
            poppy.CircularAperture(radius=0.8, shift_x=0.1, shift_y=-0.2),
            {"npix": 48, "grid_size": 2.0},
        ),
        "secondary": (
            poppy.SecondaryObscuration(secondary_radius=0.3, n_supports=3, support_width=0.05),
            {"npix": 64, "grid_size": 2.2},
        ),
        "hexagon": (poppy.HexagonAperture(side=0.7, rotation=10), {"npix": 50, "grid_size": 1.6}),
        "multihex": (poppy.MultiHexagonAperture(rings=1, flattoflat=0.4), {"npix": 64}),
        "zernike_opd": (
            poppy.ZernikeWFE(radius=1.0, coefficients=[0, 0, 0, 50e-9, 20e-9, -10e-9]),
            {"npix": 64, "grid_size": 2.0, "what": "opd"},
        ),
        "zernike_phase": (
            poppy.ZernikeWFE(radius=1.0, coefficients=[0, 0, 0, 50e-9, 20e-9, -10e-9]),
            {"npix": 32, "grid_size": 2.0, "what": "phase", "wavelength": 0.5e-6},
        ),
        "thinlens_complex": (
            poppy.ThinLens(nwaves=1.0, radius=1.0),
            {"npix": 40, "grid_size": 2.0, "what": "complex"},
        ),
        "occulter": (poppy.CircularOcculter(radius=0.5), {"npix": 64, "grid_size": 2.0}),
        "fieldstop": (
            poppy.RectangularFieldStop(width=1.0, height=0.5, rotation=20),
            {"npix": 40, "what": "intensity"},
        ),
    }


def main():
    import poppy

    out = {}
    for name, (optic, kwargs) in cases(poppy).items():
        array, scale = optic.sample(return_scale=True, **kwargs)
        out[name] = np.asarray(array)
        out[name + "_scale"] = np.asarray(scale.value)
    # get_transmission / get_opd on a wavefront of POPPY's.
    wf = poppy.Wavefront(wavelength=1e-6, npix=40, diam=2.4)
    optic = poppy.SecondaryObscuration(secondary_radius=0.4, n_supports=4, support_width=0.1)
    out["wave_transmission"] = np.asarray(optic.get_transmission(wf))
    zern = poppy.ZernikeWFE(radius=1.2, coefficients=[0, 10e-9, 0, 30e-9])
    out["wave_opd"] = np.asarray(zern.get_opd(wf))
    np.savez_compressed("samples.npz", **out)


if __name__ == "__main__":
    main()
