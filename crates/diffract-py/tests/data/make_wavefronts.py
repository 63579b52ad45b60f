"""Makes wavefronts.npz: POPPY 1.1.2's intermediate and final wavefronts for
test_wavefronts.py. Run once with a Python that has poppy==1.1.2:

    python make_wavefronts.py   (from this folder)

Each system is built by `systems(poppy)`, which the test calls with diffract in place of
poppy, so both sides compute the same optics."""

import numpy as np


def systems(poppy):
    """The test systems by name: an MFT imaging system and an FFT Lyot coronagraph."""
    imaging = poppy.OpticalSystem(name="imaging", npix=48, oversample=2)
    imaging.add_pupil(poppy.CircularAperture(radius=1.0))
    imaging.add_pupil(
        poppy.SecondaryObscuration(secondary_radius=0.3, n_supports=3, support_width=0.05)
    )
    imaging.add_pupil(poppy.ZernikeWFE(radius=1.0, coefficients=[0, 0, 0, 30e-9, 10e-9, -20e-9]))
    imaging.add_detector(pixelscale=0.05, fov_pixels=16)

    lyot = poppy.OpticalSystem(name="lyot", npix=32, oversample=2)
    lyot.add_pupil(poppy.CircularAperture(radius=1.0))
    lyot.add_image(poppy.CircularOcculter(radius=0.15))
    lyot.add_pupil(poppy.CircularAperture(radius=0.8))
    lyot.add_detector(pixelscale=0.04, fov_pixels=12)
    return {"imaging": imaging, "lyot": lyot}


# The spectra: one wavelength, and two weighted (POPPY sums the fields with the weights).
SPECTRA = {"mono": ([1.0e-6], [1.0]), "poly": ([0.9e-6, 1.1e-6], [0.4, 0.6])}


def main():
    import poppy

    out = {}
    for name, osys in systems(poppy).items():
        # POPPY refuses to sum an FFT image plane's fields over wavelengths.
        spectra = SPECTRA if name == "imaging" else {"mono": SPECTRA["mono"]}
        for spectrum, (waves, weights) in spectra.items():
            _, wfs = osys.calc_psf(wavelength=waves, weight=weights, return_intermediates=True)
            for i, wf in enumerate(wfs):
                out[f"{name}_{spectrum}_{i}"] = np.asarray(wf.wavefront, dtype=np.complex128)
            _, final = osys.calc_psf(wavelength=waves, weight=weights, return_final=True)
            out[f"{name}_{spectrum}_final"] = np.asarray(final[0].wavefront, dtype=np.complex128)
        inwave = osys.input_wavefront(1.0e-6)
        out[f"{name}_input"] = np.array(inwave.wavefront, dtype=np.complex128)  # a copy
        final = osys.propagate(inwave)
        out[f"{name}_propagated"] = np.asarray(final.wavefront, dtype=np.complex128)
    osys = systems(poppy)["imaging"]
    osys.source_offset_r = 0.2
    osys.source_offset_theta = 30
    out["imaging_tilted_input"] = np.asarray(osys.input_wavefront(1.0e-6).wavefront)
    np.savez_compressed("wavefronts.npz", **out)


if __name__ == "__main__":
    main()
