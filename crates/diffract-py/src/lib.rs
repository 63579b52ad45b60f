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
use diffract::propagation::{ComputeOptions, Progress, PsfPlan, Sampling, Wavefront};
use diffract::run::{compute_fresnel, compute_system, KeepPlanes, RunError};
use numpy::{Complex64, PyArray1, PyArrayMethods, PyReadonlyArray2, ToPyArray};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use std::path::Path;

// The Rust side's arrays of 4 MiB and more in transparent huge pages, as in the `diffract`
// command (docs/performance.md): sampling a 1024^2 pupil is mostly page faults otherwise.
// A Rust array handed to numpy (PyArray::from_vec) is freed through this same allocator.
#[global_allocator]
static ALLOCATOR: diffract::parallel::LargePages = diffract::parallel::LargePages;

/// One header card for Python: `(keyword, value, comment)`.
type PyCard<'py> = (String, Bound<'py, PyAny>, Option<String>);

/// The oversampled PSF, the detector-sampled PSF, their header cards, and the planes'
/// wavefronts when asked for.
type PsfParts<'py> = (
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Vec<PyCard<'py>>,
    Vec<PyCard<'py>>,
    Vec<Bound<'py, PyDict>>,
);

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
/// Returns `(oversampled, det_samp, primary_cards, det_samp_cards, planes)`: two float64
/// arrays and, for each, the header cards `(keyword, value, comment)` that `diffract psf`
/// writes; `planes` is empty unless `keep` asks for wavefronts (below).
/// `workers` caps the wavelengths computed at once (default: as the cores and memory
/// allow). `file` is the scene file the text was read from (relative paths start from its
/// folder). `offset` `(x, y)` arcsec and `wavelength` (metres) replace the scene's source
/// as `diffract grid` does for a grid point: the source offset POPPY's source_offset_x/_y,
/// monochromatic at `wavelength` when given, else with the scene's spectrum.
/// `keep` = "intermediates" plans the system plane by plane and returns every plane's
/// complex field (the wavelengths' fields weighted and summed, as POPPY's
/// `return_intermediates`), the detector's last; "final" the detector's field alone. Each
/// plane is a dict: `index` (0-based plane), `kind`, `image_plane`, `field` (complex128;
/// `None` where the wavelengths' samplings differ, as on an FFT image plane),
/// `pixelscale` (m/px in pupil planes, arcsec/px in image planes), `z_m` (Fresnel).
/// `progress`, a callable, is called with no arguments as each wavelength finishes.
/// `centre` moves the detector with the `offset` so the PSF is centred in the stamp (a
/// grid's `centre_stamps`). `precision` is "auto" (the default), "f64" or "f32", as the
/// command line's `--precision`. The GIL is released while computing.
#[pyfunction]
#[pyo3(signature = (scene, workers = None, file = None, offset = None, wavelength = None, keep = None, progress = None, centre = false, precision = None))]
#[allow(clippy::too_many_arguments)]
fn compute_psf<'py>(
    py: Python<'py>,
    scene: &str,
    workers: Option<usize>,
    file: Option<&str>,
    offset: Option<(f64, f64)>,
    wavelength: Option<f64>,
    keep: Option<&str>,
    progress: Option<Py<PyAny>>,
    centre: bool,
    precision: Option<&str>,
) -> PyResult<PsfParts<'py>> {
    let keep = match keep {
        None => KeepPlanes::None,
        Some("intermediates") => KeepPlanes::Fields,
        Some("final") => KeepPlanes::Final,
        Some(other) => {
            return Err(PyValueError::new_err(format!(
                "keep must be \"intermediates\" or \"final\", got {other:?}"
            )))
        }
    };
    let mut scene = read_scene(scene, file)?;
    if offset.is_some() || wavelength.is_some() {
        let value_error =
            |e: diffract::propagation::PropagationError| PyValueError::new_err(e.to_string());
        let (x, y) = offset.unwrap_or((0.0, 0.0));
        match &mut scene {
            AnyScene::Fraunhofer(s) => {
                s.source = grid_source(&s.source, x, y, wavelength).map_err(value_error)?;
                if centre {
                    s.system = diffract::grid::centred_on(&s.system, x, y).map_err(value_error)?;
                }
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
    let mut compute = compute_options(precision)?;
    if let Some(n) = workers {
        compute = compute.with_workers(n);
    }
    if let Some(callback) = progress {
        compute = compute.with_progress(Progress::new(move || {
            // A failing callback (a closed progress bar, say) does not stop the work.
            Python::attach(|py| {
                if let Err(e) = callback.call0(py) {
                    e.write_unraisable(py, None);
                }
            });
        }));
    }
    let computed = py
        .detach(|| match &scene {
            AnyScene::Fraunhofer(s) => compute_system(&s.system, &s.source, &compute, keep),
            AnyScene::Fresnel(s) => compute_fresnel(&s.system, &s.source, &compute, keep),
        })
        .map_err(run_error)?;
    let header = psf_header(&computed.psf, &computed.write_options(Some(scene.name())));
    let planes = computed
        .planes
        .iter()
        .map(|p| {
            plane_dict(py, p.index, p.kind, p.image_plane, p.field.as_ref(), p.pixelscale, p.z_m)
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok((
        to_numpy(py, &computed.psf.image)?,
        to_numpy(py, &computed.psf.detector_sampled())?,
        cards(py, &header.primary)?,
        cards(py, &header.det_samp)?,
        planes,
    ))
}

/// A plane's wavefront for Python: `index`, `kind`, `image_plane`, `field` (`None` where
/// the wavelengths' fields could not be summed), `pixelscale`, `z_m`.
fn plane_dict<'py>(
    py: Python<'py>,
    index: usize,
    kind: &str,
    image_plane: bool,
    field: Option<&ndarray::Array2<Complex64>>,
    pixelscale: f64,
    z_m: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("index", index)?;
    d.set_item("kind", kind)?;
    d.set_item("image_plane", image_plane)?;
    d.set_item("field", field.map(|f| f.to_pyarray(py)))?;
    d.set_item("pixelscale", pixelscale)?;
    d.set_item("z_m", z_m)?;
    Ok(d)
}

/// An optic's transmission, OPD and phase arrays, each `None` where it has none.
type OpticArrays<'py> =
    (Option<Bound<'py, PyAny>>, Option<Bound<'py, PyAny>>, Option<Bound<'py, PyAny>>);

/// An optic's arrays on a grid (POPPY's `get_transmission`, `get_opd`, `sample`): the
/// first optic of scene text (a one-optic scene), sampled on `npix x npix` pixels of
/// `pixelscale` (m/px in a pupil plane, arcsec/px in an image plane) about the array centre
/// (pixel `(npix - 1) / 2`, as POPPY's wavefront coordinates). Returns `(transmission, opd,
/// phase)`: the amplitude transmission, the OPD in metres and a wavelength-independent
/// phase in radians, each `None` where the optic has none (clear, no OPD).
///
/// Raises `ValueError` for bad scene text or a grid that cannot be made.
#[pyfunction]
#[pyo3(signature = (scene, npix, pixelscale, file = None))]
fn sample_optic<'py>(
    py: Python<'py>,
    scene: &str,
    npix: usize,
    pixelscale: f64,
    file: Option<&str>,
) -> PyResult<OpticArrays<'py>> {
    use diffract::optics::{ImageGrid, PupilGrid};
    use diffract::propagation::Plane;
    let AnyScene::Fraunhofer(scene) = read_scene(scene, file)? else {
        return Err(PyValueError::new_err("sample_optic takes a Fraunhofer scene"));
    };
    let bad = |e: String| PyValueError::new_err(e);
    if npix == 0 || npix > 16384 || !(pixelscale.is_finite() && pixelscale > 0.0) {
        return Err(bad(format!(
            "npix must be 1 to 16384 and the pixel scale a finite number > 0; got {npix} and {pixelscale}"
        )));
    }
    let arrays = match scene.system.planes().first() {
        Some(Plane::Pupil(optic)) => {
            let grid =
                PupilGrid::new(npix, npix as f64 * pixelscale).map_err(|e| bad(e.to_string()))?;
            py.detach(|| (optic.transmission(&grid), optic.opd(&grid), optic.phase(&grid)))
        }
        Some(Plane::Image(optic)) => {
            let c = (npix as f64 - 1.0) / 2.0;
            let grid = ImageGrid { shape: (npix, npix), pixelscale, center: (c, c), frame: None };
            py.detach(|| (optic.transmission(&grid), optic.opd(&grid), optic.phase(&grid)))
        }
        Some(other) => {
            return Err(bad(format!("{} has no arrays to sample", other.kind())));
        }
        None => return Err(bad("the scene has no optic".into())),
    };
    let out = |a: Option<ndarray::Array2<f64>>| a.map(|a| to_numpy(py, &a)).transpose();
    Ok((out(arrays.0)?, out(arrays.1)?, out(arrays.2)?))
}

/// The entrance pupil of a Fraunhofer scene's system: `(npix, diameter_m, oversample)`,
/// the grid `input_wavefront` fills and `propagate` takes.
///
/// Raises `ValueError` for a Fresnel scene or a system without a pupil size.
#[pyfunction]
#[pyo3(signature = (scene, file = None))]
fn entrance(scene: &str, file: Option<&str>) -> PyResult<(usize, f64, usize)> {
    let AnyScene::Fraunhofer(scene) = read_scene(scene, file)? else {
        return Err(PyValueError::new_err("input_wavefront takes a Fraunhofer system"));
    };
    let grid = scene.system.grid().map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok((grid.npix(), grid.diameter(), scene.system.oversample()))
}

/// Propagates a wavefront of one's own through a Fraunhofer scene's system (POPPY's
/// `OpticalSystem.propagate`): `field`, a square complex128 pupil-plane array of the
/// system's `npix` with `pixelscale` m/px, at `wavelength` metres, is taken as it is (no
/// normalisation but the scene's "last" or "exit_pupil" steps). Returns the planes as
/// `compute_psf(keep=...)` does: every plane's field (the system planned plane by plane)
/// with `intermediates`, else the final one alone; in `precision` as `compute_psf`. The
/// GIL is released while computing.
///
/// Raises `ValueError` for a Fresnel scene or a field that is not on the system's grid.
#[pyfunction]
#[pyo3(signature = (scene, field, wavelength, pixelscale, intermediates = false, file = None, precision = None))]
#[allow(clippy::too_many_arguments)]
fn propagate<'py>(
    py: Python<'py>,
    scene: &str,
    field: PyReadonlyArray2<'_, Complex64>,
    wavelength: f64,
    pixelscale: f64,
    intermediates: bool,
    file: Option<&str>,
    precision: Option<&str>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let compute = compute_options(precision)?;
    let AnyScene::Fraunhofer(scene) = read_scene(scene, file)? else {
        return Err(PyValueError::new_err(
            "propagate takes a Fraunhofer system (FresnelOpticalSystem.propagate is not available)",
        ));
    };
    let system = &scene.system;
    let plan = if intermediates { PsfPlan::new_plane_by_plane(system) } else { system.plan() }
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let field = field.as_array().to_owned();
    let centre = (field.nrows() as f64 - 1.0) / 2.0;
    let wf = Wavefront::new(field, wavelength, Sampling::Pupil { m_per_px: pixelscale, centre });
    // (plane index, image plane, field, pixel scale) after each recorded plane.
    type Kept = (usize, bool, ndarray::Array2<Complex64>, f64);
    let mut kept: Vec<Kept> = Vec::new();
    let result = py.detach(|| {
        let mut plane = 0;
        plan.propagate_wavefront(wf, &compute, |_, step, wf| {
            if let Some(planes) = step.planes() {
                plane = planes.start;
            }
            if intermediates && step.name() == "record plane" {
                let image = !matches!(wf.sampling, Sampling::Pupil { .. });
                kept.push((plane, image, wf.field.clone(), wf.sampling.pixelscale()));
            }
        })
    });
    let out = result.map_err(|e| PyValueError::new_err(e.to_string()))?;
    let n_planes = system.planes().len();
    let out_scale = out.sampling.pixelscale();
    if system.detector().is_some() {
        kept.push((n_planes, true, out.field, out_scale));
    } else if let Some(last) = kept.last_mut().filter(|k| k.2.dim() == out.field.dim()) {
        last.2 = out.field;
    } else {
        kept.push((n_planes - 1, true, out.field, out_scale));
    }
    kept.iter()
        .map(|(i, image, field, scale)| {
            let kind = system.planes().get(*i).map_or("detector", |p| p.kind());
            plane_dict(py, *i, kind, *image, Some(field), *scale, None)
        })
        .collect()
}

/// Default computation options in `precision` ("auto", "f64", "f32"; default "auto").
fn compute_options(precision: Option<&str>) -> PyResult<ComputeOptions> {
    let precision: diffract::propagation::Precision = precision.unwrap_or("auto").parse().map_err(
        |e: diffract::propagation::PropagationError| PyValueError::new_err(e.to_string()),
    )?;
    Ok(ComputeOptions::default().with_precision(precision))
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
    m.add_function(wrap_pyfunction!(propagate, m)?)?;
    m.add_function(wrap_pyfunction!(entrance, m)?)?;
    m.add_function(wrap_pyfunction!(sample_optic, m)?)?;
    m.add_function(wrap_pyfunction!(ee_curve, m)?)?;
    m.add_function(wrap_pyfunction!(fwhm, m)?)?;
    m.add_function(wrap_pyfunction!(centroid, m)?)?;
    m.add_class::<EeCurve>()?;
    Ok(())
}
