//! The extension module `diffract._diffract` of the Python package: scenes in, PSF arrays
//! and POPPY's header cards out.
//!
//! The Python layer (python/diffract) keeps POPPY's names and arguments, converts units and
//! writes the system as scene text; this module reads the scene with the same checks as the
//! command line, computes with the GIL released, and returns the arrays and the header cards
//! of [`diffract::io::psf_header`], which the Python layer turns into an astropy `HDUList`.
//! Bad input is a `ValueError` carrying the command line's one-line message; a failure
//! while computing is a `RuntimeError`.

use diffract::io::{psf_header, AnyScene, Card, CardValue};
use diffract::measure::{array_center, fw_centroid, fwhm_fit, PoppyEe};
use diffract::propagation::ComputeOptions;
use diffract::run::{compute_fresnel, compute_system, RunError};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray2};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::path::Path;

/// One header card for Python: `(keyword, value, comment)`.
type PyCard<'py> = (String, Bound<'py, PyAny>, Option<String>);

/// The oversampled PSF, the detector-sampled PSF, and their header cards.
type PsfParts<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>, Vec<PyCard<'py>>, Vec<PyCard<'py>>);

/// Reads scene text (of either propagation) as the command line reads a scene file;
/// `file` (when the text came from one) names it in errors, gives the default name and the
/// folder relative paths start from.
fn read_scene(scene: &str, file: Option<&str>) -> PyResult<AnyScene> {
    AnyScene::from_toml_str(scene, file.map(Path::new))
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Bad input (a system that cannot be planned or scheduled) is a `ValueError`; a failure
/// while computing a `RuntimeError`; both with the command line's message.
fn run_error(e: RunError) -> PyErr {
    if e.is_input() {
        PyValueError::new_err(e.to_string())
    } else {
        PyRuntimeError::new_err(e.to_string())
    }
}

/// A 2-D array as a C-ordered numpy array.
fn to_numpy<'py>(py: Python<'py>, a: &ndarray::Array2<f64>) -> PyResult<Bound<'py, PyAny>> {
    let (ny, nx) = a.dim();
    let flat: Vec<f64> = a.iter().copied().collect();
    Ok(PyArray1::from_vec(py, flat).reshape([ny, nx])?.into_any())
}

fn cards<'py>(py: Python<'py>, cards: &[Card]) -> PyResult<Vec<PyCard<'py>>> {
    cards
        .iter()
        .map(|c| {
            let value = match &c.value {
                CardValue::Int(v) => v.into_pyobject(py)?.into_any(),
                CardValue::Float(v) => v.into_pyobject(py)?.into_any(),
                CardValue::Str(v) => PyString::new(py, v).into_any(),
            };
            Ok((c.key.clone(), value, c.comment.clone()))
        })
        .collect()
}

/// Checks scene text as `diffract psf` checks a scene file, computing nothing; `file` as
/// for `compute_psf`.
///
/// Raises `ValueError` with the command line's one-line message for bad input.
#[pyfunction]
#[pyo3(signature = (scene, file = None))]
fn check_scene(scene: &str, file: Option<&str>) -> PyResult<()> {
    read_scene(scene, file).map(|_| ())
}

/// Computes the PSF of a scene (TOML text, docs/scene-format.md), Fraunhofer or Fresnel.
///
/// Returns `(oversampled, det_samp, primary_cards, det_samp_cards)`: two float64 arrays
/// and, for each, the header cards `(keyword, value, comment)` that `diffract psf` writes.
/// `workers` caps the wavelengths computed at once (default: as the cores and memory
/// allow). `file` is the scene file the text was read from (relative paths start from its
/// folder). `offset` `(x, y)` arcsec and `wavelength` (metres) replace the scene's source
/// as `diffract grid` does for a grid point: the source offset POPPY's source_offset_x/_y,
/// monochromatic at `wavelength` when given, else with the scene's spectrum. The GIL is
/// released while computing.
#[pyfunction]
#[pyo3(signature = (scene, workers = None, file = None, offset = None, wavelength = None))]
fn compute_psf<'py>(
    py: Python<'py>,
    scene: &str,
    workers: Option<usize>,
    file: Option<&str>,
    offset: Option<(f64, f64)>,
    wavelength: Option<f64>,
) -> PyResult<PsfParts<'py>> {
    let mut scene = read_scene(scene, file)?;
    if offset.is_some() || wavelength.is_some() {
        let value_error =
            |e: diffract::propagation::PropagationError| PyValueError::new_err(e.to_string());
        let (x, y) = offset.unwrap_or((0.0, 0.0));
        match &mut scene {
            AnyScene::Fraunhofer(s) => {
                s.source = grid_source(&s.source, x, y, wavelength).map_err(value_error)?;
            }
            AnyScene::Fresnel(_) if offset.is_some() => {
                return Err(PyValueError::new_err(
                    "a source offset applies to Fraunhofer scenes only (Fresnel sources are on axis)",
                ));
            }
            AnyScene::Fresnel(s) => {
                s.source = grid_source(&s.source, 0.0, 0.0, wavelength).map_err(value_error)?;
            }
        }
    }
    let compute = match workers {
        Some(n) => ComputeOptions::default().with_workers(n),
        None => ComputeOptions::default(),
    };
    let computed = py
        .detach(|| match &scene {
            AnyScene::Fraunhofer(s) => compute_system(&s.system, &s.source, &compute, false),
            AnyScene::Fresnel(s) => compute_fresnel(&s.system, &s.source, &compute),
        })
        .map_err(run_error)?;
    let header = psf_header(&computed.psf, &computed.write_options(Some(scene.name())));
    Ok((
        to_numpy(py, &computed.psf.image)?,
        to_numpy(py, &computed.psf.detector_sampled())?,
        cards(py, &header.primary)?,
        cards(py, &header.det_samp)?,
    ))
}

/// A grid point's source as `diffract grid` makes it (diffract::grid): monochromatic at
/// `wavelength` or `base`'s spectrum, offset to `(x, y)` arcsec on the sky (r = |(x, y)|,
/// theta = atan2(-x, y)).
fn grid_source(
    base: &diffract::propagation::Source,
    x: f64,
    y: f64,
    wavelength: Option<f64>,
) -> Result<diffract::propagation::Source, diffract::propagation::PropagationError> {
    let base = match wavelength {
        Some(w) => diffract::propagation::Source::monochromatic(w)?,
        None => base.clone(),
    };
    base.with_offset(x.hypot(y), (-x).atan2(y).to_degrees())
}

/// POPPY's encircled-energy curve of an image (`measure_ee`) and its inverse
/// (`measure_radius_at_ee`): whole pixels summed in bins of the radial profile, interpolated
/// by scipy's not-a-knot cubic spline; NaN outside the curve, as POPPY's `interp1d` with
/// `bounds_error=False`.
#[pyclass(frozen, module = "diffract._diffract")]
struct EeCurve {
    curve: PoppyEe,
    inverse: bool,
}

#[pymethods]
impl EeCurve {
    /// Encircled energy within `radius` arcsec (or, for the inverse curve, the radius in
    /// arcsec holding the fraction `radius`); NaN outside the curve.
    fn at(&self, radius: f64) -> f64 {
        let v = if self.inverse { self.curve.radius_at(radius) } else { self.curve.ee(radius) };
        v.unwrap_or(f64::NAN)
    }
}

/// The image of a numpy array, copied, and its centre `(x, y)` in pixels (default: the
/// array centre).
fn image_and_center(
    image: PyReadonlyArray2<'_, f64>,
    center: Option<(f64, f64)>,
) -> (ndarray::Array2<f64>, (f64, f64)) {
    let image = image.as_array().to_owned();
    let center = center.unwrap_or_else(|| array_center(&image));
    (image, center)
}

/// POPPY's `measure_ee` (`inverse = False`) or `measure_radius_at_ee` (`inverse = True`) of
/// `image` with `pixelscale` arcsec per pixel, about `center` `(x, y)` pixels (default the
/// array centre), in bins of `binsize` arcsec (default one pixel).
///
/// Raises `ValueError` when the profile has fewer than 3 bins.
#[pyfunction]
#[pyo3(signature = (image, pixelscale, center = None, binsize = None, inverse = false))]
fn ee_curve(
    py: Python<'_>,
    image: PyReadonlyArray2<'_, f64>,
    pixelscale: f64,
    center: Option<(f64, f64)>,
    binsize: Option<f64>,
    inverse: bool,
) -> PyResult<EeCurve> {
    let (image, center) = image_and_center(image, center);
    let curve = py.detach(|| PoppyEe::new(&image, pixelscale, center, binsize));
    let curve = curve.ok_or_else(|| {
        PyValueError::new_err("encircled energy needs a radial profile of at least 3 bins")
    })?;
    Ok(EeCurve { curve, inverse })
}

/// POPPY's `measure_fwhm`: FWHM in arcsec of a Gaussian of fixed centre fitted to the
/// pixels above `threshold` of the peak; NaN when it cannot be fitted.
#[pyfunction]
#[pyo3(signature = (image, pixelscale, center = None, threshold = 0.1))]
fn fwhm(
    py: Python<'_>,
    image: PyReadonlyArray2<'_, f64>,
    pixelscale: f64,
    center: Option<(f64, f64)>,
    threshold: f64,
) -> f64 {
    let (image, center) = image_and_center(image, center);
    py.detach(|| fwhm_fit(&image, pixelscale, center, threshold)).unwrap_or(f64::NAN)
}

/// POPPY's `measure_centroid` (the floating-window centroid with half box `boxsize`):
/// `(x, y)` in pixels from the centre of pixel (0, 0).
///
/// Raises `ValueError` when a box holds no light.
#[pyfunction]
#[pyo3(signature = (image, boxsize = 20))]
fn centroid(
    py: Python<'_>,
    image: PyReadonlyArray2<'_, f64>,
    boxsize: usize,
) -> PyResult<(f64, f64)> {
    let image = image.as_array().to_owned();
    py.detach(|| fw_centroid(&image, boxsize))
        .ok_or_else(|| PyValueError::new_err("the centroid box holds no light"))
}

/// The extension module.
#[pymodule]
fn _diffract(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(check_scene, m)?)?;
    m.add_function(wrap_pyfunction!(compute_psf, m)?)?;
    m.add_function(wrap_pyfunction!(ee_curve, m)?)?;
    m.add_function(wrap_pyfunction!(fwhm, m)?)?;
    m.add_function(wrap_pyfunction!(centroid, m)?)?;
    m.add_class::<EeCurve>()?;
    Ok(())
}
