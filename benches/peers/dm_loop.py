"""The dm_loop example's control loop in POPPY 1.1.2 and HCIPy 0.7: a 32 x 32 actuator
continuous DM behind a circular aperture (2 m), 256-pixel pupil, one wavelength of 1 um,
64 detector pixels at oversample 2; random actuator updates, each followed by a PSF.
Prints the PSF rate of each (after one warm-up PSF).

    python benches/peers/dm_loop.py [--poppy-updates 20] [--hcipy-updates 200]
"""

import argparse
import time


def lcg(seed):
    state = seed
    while True:
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        yield state >> 33


def updates(n):
    rng = lcg(2026)
    for _ in range(n):
        r, c = next(rng) % 32, next(rng) % 32
        yield r, c, (next(rng) / 2**31 - 0.5) * 100e-9


def poppy_rate(n):
    import astropy.units as u
    import poppy

    osys = poppy.OpticalSystem(npix=256, oversample=2)
    osys.add_pupil(poppy.CircularAperture(radius=1.0))
    dm = poppy.ContinuousDeformableMirror(dm_shape=(32, 32), radius=1.0 * u.m)
    osys.add_pupil(dm)
    osys.add_detector(pixelscale=0.05, fov_pixels=64)
    osys.calc_psf(1e-6)
    start = time.perf_counter()
    for r, c, v in updates(n):
        dm.set_actuator(c, r, v)
        osys.calc_psf(1e-6)
    return n / (time.perf_counter() - start)


def hcipy_rate(n):
    import hcipy

    d = 2.0
    pupil_grid = hcipy.make_pupil_grid(256, d)
    aperture = hcipy.make_circular_aperture(d)(pupil_grid)
    influence = hcipy.make_gaussian_influence_functions(pupil_grid, 32, d / 31)
    dm = hcipy.DeformableMirror(influence)
    focal_grid = hcipy.make_focal_grid(q=4, num_airy=16, spatial_resolution=1e-6 / d)
    prop = hcipy.FraunhoferPropagator(pupil_grid, focal_grid)
    wf = hcipy.Wavefront(aperture, 1e-6)
    _ = prop(dm(wf)).power
    start = time.perf_counter()
    for r, c, v in updates(n):
        dm.actuators[r * 32 + c] = v
        _ = prop(dm(wf)).power
    return n / (time.perf_counter() - start)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--poppy-updates", type=int, default=20)
    p.add_argument("--hcipy-updates", type=int, default=200)
    a = p.parse_args()
    print(f"hcipy 0.7 dm_loop: {hcipy_rate(a.hcipy_updates):.1f} PSF/s")
    print(f"poppy 1.1.2 dm_loop: {poppy_rate(a.poppy_updates):.2f} PSF/s")
