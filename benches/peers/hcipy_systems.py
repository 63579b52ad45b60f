"""The benchmark systems of benches/scenes in HCIPy 0.7, for timing beside POPPY and diffract.

Each function takes the module (``hcipy``), builds the system (grids, apertures sampled,
propagators) and returns its PSF: the weighted sum over the wavelengths of the power in each
focal-plane pixel, each wavelength's input normalised to unit total power (POPPY's
``normalize="first"``), as a 2-D array on the focal grid of POPPY's oversampled output
(644 x 644 pixels of 0.031 / 4 arcsec). The whole call is what the benchmark times: POPPY's
``calc_psf`` and diffract's process also sample their optics and make their transforms.

How they differ from POPPY's (benches/peers/systems.py):

- Apertures are HCIPy's: binary pixels (a pixel is in or out by its centre), where POPPY's
  circles have gray edge pixels. Pupil grids are POPPY's: ``npix`` pixel centres across the
  pupil diameter (6.5 m; 6.635 m for the segmented pupil, POPPY's (flat to flat + gap) x
  (2 rings + 1)).
- The focal plane is reached by HCIPy's ``FraunhoferPropagator`` (focal length 1, so the
  focal grid is in radians), which picks its own Fourier transform (a matrix Fourier
  transform or a zoom FFT, from its cost estimate); its transform has the opposite sign of
  POPPY's, so with wavefront error (imaging) the PSF is POPPY's turned by 180 degrees.
- imaging: the Zernike terms are HCIPy's Noll-ordered ``zernike`` (the same normalisation
  as POPPY's ``ZernikeWFE``) added as a phase per wavelength.
- segmented: ``make_hexagonal_segmented_aperture`` (2 rings without the centre segment,
  1.32 m flat to flat, 7 mm gaps), with HCIPy's segment order and pixel test.
- lyot: HCIPy's ``LyotCoronagraph``, which propagates by the semi-analytic method (Soummer
  et al. 2007: an MFT onto the occulter's own small grid, here 0.031 / 4 arcsec pixels,
  then back, subtracted from the pupil field) where POPPY's system (and diffract's scene)
  pads the pupil 4x and runs 2048 x 2048 FFTs. The result is the same coronagraph without
  the FFT's wrap-around, at a fraction of the arithmetic.
- There is no Fresnel system here: HCIPy has no Gaussian-beam Fresnel propagation like
  POPPY's ``FresnelOpticalSystem``.
"""

import numpy as np

ARCSEC = np.pi / (180 * 3600)
TEN_WAVELENGTHS = [1.80e-6 + 0.04e-6 * i for i in range(10)]
# POPPY's oversampled detector grid of the scenes: 5 arcsec at 0.031 arcsec (161 pixels),
# oversample 4.
FOCAL_PIXELS = 161 * 4
FOCAL_PIXELSCALE = 0.031 / 4 * ARCSEC


def focal_grid(hcipy):
    """The oversampled detector grid, in radians (focal length 1)."""
    return hcipy.make_uniform_grid([FOCAL_PIXELS] * 2, FOCAL_PIXELS * FOCAL_PIXELSCALE)


def obscuration(hcipy, grid, secondary_radius, n_supports, support_width):
    """A central obscuration on ``n_supports`` spiders from the +x axis, POPPY's
    ``SecondaryObscuration`` layout."""
    field = 1 - hcipy.make_circular_aperture(2 * secondary_radius)(grid)
    for i in range(n_supports):
        angle = 360.0 * i / n_supports
        field = field * hcipy.make_spider_infinite([0, 0], angle, support_width)(grid)
    return field


def psf(hcipy, first, rest, wavelengths, optic=None, opd=None):
    """The equal-weight PSF over ``wavelengths`` of the pupil ``first * rest`` (Fields; the
    light normalised after ``first``, as POPPY's after the first optic), with ``opd``
    (metres, a Field, or None) as a phase, then ``optic`` (an HCIPy optical element, or
    None) and the Fraunhofer propagator to the focal grid."""
    focal = focal_grid(hcipy)
    prop = hcipy.FraunhoferPropagator(first.grid, focal)
    total = 0
    for wavelength in wavelengths:
        wf = hcipy.Wavefront(first.astype(complex), wavelength)
        wf.total_power = 1
        wf.electric_field *= rest
        if opd is not None:
            wf.electric_field *= np.exp(2j * np.pi / wavelength * opd)
        if optic is not None:
            wf = optic(wf)
        total = total + prop(wf).power / len(wavelengths)
    return np.asarray(total).reshape(FOCAL_PIXELS, FOCAL_PIXELS)


def imaging_1024(hcipy):
    """imaging_1024: 6.5 m circle (1024 pixels), secondary 0.5 m on three 0.1 m spiders,
    Zernike Z4..Z6 of 50, 20, -30 nm; ten wavelengths 1.80-2.16 um."""
    grid = hcipy.make_pupil_grid(1024, 6.5)
    circle = hcipy.make_circular_aperture(6.5)(grid)
    opd = 0
    for noll, coefficient in ((4, 50e-9), (5, 20e-9), (6, -30e-9)):
        n, m = hcipy.noll_to_zernike(noll)
        opd = opd + coefficient * hcipy.zernike(n, m, 6.5, grid)
    secondary = obscuration(hcipy, grid, 0.5, 3, 0.1)
    return psf(hcipy, circle, secondary, TEN_WAVELENGTHS, opd=opd)


def segmented_1024(hcipy):
    """segmented_1024: 18 hexagons (2 rings, no centre) of 1.32 m with 7 mm gaps, secondary
    0.37 m on three 0.08 m spiders, 1024 pixels across 6.635 m; five wavelengths."""
    diameter = (1.32 + 0.007) * 5
    grid = hcipy.make_pupil_grid(1024, diameter)
    hexes = hcipy.make_hexagonal_segmented_aperture(2, 1.32, 0.007, starting_ring=1)(grid)
    secondary = obscuration(hcipy, grid, 0.37, 3, 0.08)
    return psf(hcipy, hexes, secondary, [1.9e-6, 1.95e-6, 2.0e-6, 2.05e-6, 2.1e-6])


def lyot_512(hcipy):
    """lyot_512: 6.5 m circle of 512 pixels, a 0.4 arcsec occulter, a 6 m Lyot stop; ten
    wavelengths. The occulter's grid covers it with the detector's oversampled pixels."""
    grid = hcipy.make_pupil_grid(512, 6.5)
    aperture = hcipy.make_circular_aperture(6.5)(grid)
    n = int(np.ceil(0.8 * ARCSEC / FOCAL_PIXELSCALE)) + 2
    mask_grid = hcipy.make_uniform_grid([n, n], n * FOCAL_PIXELSCALE)
    occulter = 1 - hcipy.make_circular_aperture(0.8 * ARCSEC)(mask_grid)
    stop = hcipy.make_circular_aperture(6.0)(grid)
    lyot = hcipy.LyotCoronagraph(grid, occulter, stop)
    return psf(hcipy, aperture, 1, TEN_WAVELENGTHS, optic=lyot)


SYSTEMS = {f.__name__: f for f in (imaging_1024, segmented_1024, lyot_512)}
