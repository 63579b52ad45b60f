//! The header cards of a PSF file: POPPY's keywords, as values, so that the FITS writer and
//! other front ends (the Python package's astropy HDUList) record the same header.

use crate::WriteOptions;
use diffract_propagation::Psf;

/// The value of one header card.
#[derive(Clone, Debug, PartialEq)]
pub enum CardValue {
    /// An integer (FITS `K` with an integer value).
    Int(i64),
    /// A real number.
    Float(f64),
    /// A string.
    Str(String),
}

/// One header card: keyword, value and comment (`None`: no comment).
#[derive(Clone, Debug, PartialEq)]
pub struct Card {
    /// The keyword (at most 8 characters).
    pub key: String,
    /// The value.
    pub value: CardValue,
    /// The comment, if any.
    pub comment: Option<String>,
}

impl Card {
    fn new(key: impl Into<String>, value: CardValue, comment: Option<&str>) -> Self {
        Card { key: key.into(), value, comment: comment.map(str::to_string) }
    }
}

/// The header cards of a Fraunhofer PSF file: the primary HDU (extension name `OVERSAMP`,
/// the oversampled PSF) and the `DET_SAMP` extension (the detector-sampled PSF), as
/// [`write_psf`](crate::write_psf) writes them.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PsfHeader {
    /// The primary HDU's cards, `EXTNAME` first.
    pub primary: Vec<Card>,
    /// The `DET_SAMP` extension's cards (its `EXTNAME` not included).
    pub det_samp: Vec<Card>,
}

/// A list of cards being built.
#[derive(Default)]
pub(crate) struct Cards(pub(crate) Vec<Card>);

impl Cards {
    fn int(&mut self, key: &str, value: i64, comment: &str) {
        self.0.push(Card::new(key, CardValue::Int(value), Some(comment)));
    }
    fn float(&mut self, key: &str, value: f64, comment: &str) {
        self.0.push(Card::new(key, CardValue::Float(value), Some(comment)));
    }
    fn str(&mut self, key: &str, value: &str, comment: Option<&str>) {
        self.0.push(Card::new(key, CardValue::Str(value.to_string()), comment));
    }
}

/// The header of a PSF as [`write_psf`](crate::write_psf) writes it with `opts`: for a
/// Fresnel output (`psf.fresnel` is `Some`) the one HDU's cards, `det_samp` empty.
pub fn psf_header(psf: &Psf, opts: &WriteOptions) -> PsfHeader {
    if let Some(fresnel) = &psf.fresnel {
        return PsfHeader { primary: fresnel_cards(psf, fresnel, opts), det_samp: Vec::new() };
    }
    let primary = psf_cards(psf, opts, psf.oversample, psf.pixelscale_arcsec, "OVERSAMP");
    let det_scale = psf.pixelscale_arcsec * psf.oversample as f64;
    let mut det = psf_cards(psf, opts, 1, det_scale, "DET_SAMP");
    det.int("CALCSAMP", psf.oversample as i64, "Oversampling factor of the calculation");
    PsfHeader { primary: primary.0, det_samp: det.0 }
}

/// The cards of a complex-field extension (`REAL` or `IMAG`; `what` is "real" or
/// "imaginary").
pub(crate) fn field_cards(psf: &Psf, opts: &WriteOptions, what: &str) -> Vec<Card> {
    let mut c = Cards::default();
    let comment = format!("The {what} part of the detector field");
    c.str("CONTENT", &comment, Some("Field amplitude, oversampled"));
    c.float("WAVELEN", psf.wavelengths[0], "Wavelength in meters");
    c.float("PIXELSCL", psf.pixelscale_arcsec, "Scale in arcsec/pix (after oversampling)");
    c.str("NORMALIZ", opts.normalization.name(), Some("Normalization"));
    c.0
}

/// The header of a Fresnel output: POPPY's keys for a wavefront in metres, and the plane's
/// position along the beam.
pub(crate) fn fresnel_cards(
    psf: &Psf,
    fresnel: &diffract_propagation::FresnelOutput,
    opts: &WriteOptions,
) -> Vec<Card> {
    let mut c = Cards::default();
    if let Some(name) = &opts.name {
        c.str("OBJECT", name, Some("Scene name"));
    }
    c.str("PROPAGAT", "fresnel", Some("Propagation (Gaussian-beam Fresnel)"));
    c.float("WAVELEN", psf.mean_wavelength, "Weighted mean wavelength in meters");
    c.float("PIXELSCL", fresnel.pixelscale_m, "Pixel scale in meters/pixel (first wavelength)");
    c.str("PIXUNIT", "meter", Some("Unit of PIXELSCL"));
    c.float("DIAM", psf.pupil_diameter, "Pupil diameter in meters (not incl padding)");
    c.float("PLANEZ", fresnel.z_m, "Position of this plane along the beam [m]");
    c.float("BEAMRATI", fresnel.beam_ratio, "Pupil diameter over array width");
    c.int("NPIX", fresnel.npix as i64, "Samples across the entrance pupil");
    spectrum(&mut c, psf);
    c.str("NORMALIZ", "first", Some("PSF normalization method"));
    seeds(&mut c, opts);
    c.str("SOFTWARE", software(), Some("Software that computed this PSF"));
    c.str("FFTTYPE", psf.fft.name(), Some("Algorithm for FFTs"));
    c.str("PRECISIO", psf.precision.name(), Some("Precision of the FFTs"));
    c.int("NWORKERS", psf.workers as i64, "Wavelengths computed in parallel");
    c.0
}

fn software() -> &'static str {
    concat!("diffract ", env!("CARGO_PKG_VERSION"))
}

/// `NWAVES`, `WAVEn` and `WGHTn`: the wavelengths and their normalised weights.
fn spectrum(c: &mut Cards, psf: &Psf) {
    c.int("NWAVES", psf.wavelengths.len() as i64, "Number of wavelengths used in calculation");
    for (i, (w, g)) in psf.wavelengths.iter().zip(&psf.weights).enumerate() {
        c.float(&format!("WAVE{i}"), *w, &format!("Wavelength {i}"));
        c.float(&format!("WGHT{i}"), *g, &format!("Wavelength weight {i}"));
    }
}

/// `SEEDn` for every random optic, so a run with drawn seeds can be repeated.
fn seeds(c: &mut Cards, opts: &WriteOptions) {
    for &(optic, seed) in &opts.seeds {
        // FITS integers are signed 64-bit; seeds are below 2^63.
        let seed = i64::try_from(seed).unwrap_or(i64::MAX);
        c.int(&format!("SEED{optic}"), seed, "Seed of this optic's random screen");
    }
}

fn psf_cards(
    psf: &Psf,
    opts: &WriteOptions,
    oversamp: usize,
    pixelscale: f64,
    extname: &str,
) -> Cards {
    let mut c = Cards::default();
    if extname == "OVERSAMP" {
        c.str("EXTNAME", extname, None);
    }
    if let Some(name) = &opts.name {
        c.str("OBJECT", name, Some("Scene name"));
    }
    c.float("WAVELEN", psf.mean_wavelength, "Weighted mean wavelength in meters");
    c.float("DIFFLMT", psf.diffraction_limit_arcsec, "Diffraction limit lambda/D in arcsec");
    c.int("OVERSAMP", oversamp as i64, "Oversampling factor for FFTs in computation");
    c.int("DET_SAMP", psf.oversample as i64, "Oversampling factor for MFT to detector plane");
    c.float("PIXELSCL", pixelscale, "Scale in arcsec/pix (after oversampling)");
    let (ny, nx) = psf.image.dim();
    if ny == nx {
        c.float("FOV", psf.fov_arcsec, "Field of view in arcsec (full array)");
    } else {
        // A rectangular detector, as POPPY writes one: the field along each axis.
        let per_px = psf.pixelscale_arcsec;
        let (fy, fx) = (ny as f64 * per_px, nx as f64 * per_px);
        c.float("FOV_X", fx, "Field of view in arcsec (full array), X direction");
        c.float("FOV_Y", fy, "Field of view in arcsec (full array), Y direction");
        c.str("PIXUNIT", "arcsecond", Some("Unit of PIXELSCL"));
    }
    c.float("PUPLDIAM", psf.pupil_diameter, "Width of the pupil array in meters");
    spectrum(&mut c, psf);
    c.str("NORMALIZ", opts.normalization.name(), Some("PSF normalization method"));
    seeds(&mut c, opts);
    c.str("SOFTWARE", software(), Some("Software that computed this PSF"));
    c.str("GEMMBACK", psf.gemm.name(), Some("Matrix-product backend of the MFT"));
    c.str("FFTTYPE", psf.fft.name(), Some("Algorithm for FFTs"));
    c.str("PRECISIO", psf.precision.name(), Some("Precision of the matrix Fourier transforms"));
    c.int("NWORKERS", psf.workers as i64, "Wavelengths computed in parallel");
    if let Some(g) = &opts.grid_point {
        c.str("GRIDHASH", &g.hash, Some("Hash of the grid (scene and points)"));
        c.int("GRIDIDX", g.index as i64, "Index of this point in the grid");
        c.float("OFFX", g.offset_x_arcsec, "Source offset x [arcsec]");
        c.float("OFFY", g.offset_y_arcsec, "Source offset y [arcsec]");
    }
    if let Some((sigma, strehl)) = psf.jitter {
        c.str("JITRTYPE", "Gaussian convolution", Some("Type of jitter applied"));
        c.float("JITRSIGM", sigma, "Gaussian sigma for jitter, per axis [arcsec]");
        c.float("JITRSTRL", strehl, "Strehl reduction from jitter");
    }
    c
}
