"""The benchmark scenes of benches/scenes as POPPY scripts, written once against a module
called ``poppy``.

Each function takes the module to run on, ``poppy`` (POPPY 1.1.2) or ``diffract`` (whose
Python package has POPPY's names), and returns the optical system and its source (the
``source=`` of ``calc_psf``); :func:`calc_psf` computes it. Every number is the scene
file's: the diffract package's PSF of a function equals ``diffract psf`` of the scene
(benches/scenes/NAME.toml) to 1e-12, which shows the two describe the same system.

    import poppy, systems
    hdul = systems.calc_psf(poppy, "lyot_512")
"""

import astropy.units as u

TEN_WAVELENGTHS = [1.80e-6, 1.84e-6, 1.88e-6, 1.92e-6, 1.96e-6]
TEN_WAVELENGTHS += [2.00e-6, 2.04e-6, 2.08e-6, 2.12e-6, 2.16e-6]


def equal_weights(wavelengths):
    """POPPY's ``source`` dictionary: the wavelengths with equal weights summing to 1."""
    return {"wavelengths": wavelengths, "weights": [1.0 / len(wavelengths)] * len(wavelengths)}


def imaging_1024(poppy):
    """Direct imaging: a 6.5 m pupil, 1024 pixels across, a secondary on three spiders and
    low-order Zernike wavefront error; 644 x 644 output at oversample 4, ten wavelengths."""
    osys = poppy.OpticalSystem(name="imaging_1024", npix=1024, oversample=4)
    osys.add_pupil(poppy.CircularAperture(radius=3.25 * u.m))
    osys.add_pupil(
        poppy.SecondaryObscuration(secondary_radius=0.5, n_supports=3, support_width=0.1)
    )
    osys.add_pupil(
        poppy.ZernikeWFE(radius=3.25, coefficients=[0.0, 0.0, 0.0, 50e-9, 20e-9, -30e-9])
    )
    osys.add_detector(pixelscale=0.031, fov_arcsec=5.0)
    return osys, equal_weights(TEN_WAVELENGTHS)


def segmented_1024(poppy):
    """A segmented telescope: two rings of hexagons (18, no centre segment) of 1.32 m flat to
    flat with 7 mm gaps, a secondary on three spiders; 1024 pixels, oversample 4, five
    wavelengths."""
    osys = poppy.OpticalSystem(name="segmented_1024", npix=1024, oversample=4)
    osys.add_pupil(poppy.MultiHexagonAperture(rings=2, flattoflat=1.32, gap=0.007))
    osys.add_pupil(
        poppy.SecondaryObscuration(secondary_radius=0.37, n_supports=3, support_width=0.08)
    )
    osys.add_detector(pixelscale=0.031, fov_arcsec=5.0)
    return osys, equal_weights([1.9e-6, 1.95e-6, 2.0e-6, 2.05e-6, 2.1e-6])


def lyot_512(poppy):
    """A Lyot coronagraph by FFTs: 6.5 m pupil of 512 pixels, oversample 4 (2048 x 2048
    arrays), a 0.4 arcsec occulter, a 6 m Lyot stop; ten wavelengths."""
    osys = poppy.OpticalSystem(name="lyot_512", npix=512, oversample=4)
    osys.add_pupil(poppy.CircularAperture(radius=3.25))
    osys.add_image(poppy.CircularOcculter(radius=0.4 * u.arcsec))
    osys.add_pupil(poppy.CircularAperture(radius=3.0))
    osys.add_detector(pixelscale=0.031, fov_arcsec=5.0)
    return osys, equal_weights(TEN_WAVELENGTHS)


def fresnel_hubble_512(poppy):
    """A Hubble-like two-mirror telescope to its focus by Fresnel propagation: 2.4 m pupil,
    a 0.396 m secondary on four spiders at 45 degrees, the primary and secondary as quadratic
    lenses; 512 pixels at beam ratio 0.25 (2048 x 2048 arrays), five wavelengths, no
    detector."""
    osys = poppy.FresnelOpticalSystem(
        name="fresnel_hubble_512", pupil_diameter=2.4 * u.m, npix=512, beam_ratio=0.25
    )
    osys.add_optic(poppy.CircularAperture(radius=1.2))
    osys.add_optic(
        poppy.SecondaryObscuration(
            secondary_radius=0.396, n_supports=4, support_width=0.0264, support_angle_offset=45.0
        )
    )
    osys.add_optic(poppy.QuadraticLens(f_lens=5.52085 * u.m))
    osys.add_optic(poppy.QuadraticLens(f_lens=-0.6790325 * u.m), distance=4.907028205 * u.m)
    osys.add_optic(poppy.ScalarTransmission(), distance=6.3919974 * u.m)
    return osys, equal_weights([0.5e-6, 0.525e-6, 0.55e-6, 0.575e-6, 0.6e-6])


SYSTEMS = {f.__name__: f for f in (imaging_1024, segmented_1024, lyot_512, fresnel_hubble_512)}


def calc_psf(poppy, name):
    """The PSF of benchmark ``name`` computed by ``poppy`` (POPPY or diffract): its
    ``HDUList``."""
    osys, source = SYSTEMS[name](poppy)
    return osys.calc_psf(source=source, display=False)
