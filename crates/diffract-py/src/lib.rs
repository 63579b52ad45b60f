//! The extension module `diffract._diffract` of the Python package: scenes in, PSF arrays
//! and POPPY's header cards out.
//!
//! The Python layer (python/diffract) keeps POPPY's names and arguments, converts units and
//! writes the system as scene text; this module reads the scene with the same checks as the
//! command line, computes with the GIL released, and returns the arrays and the header cards
//! of [`diffract::io::psf_header`], which the Python layer turns into an astropy `HDUList`.
//! Bad input is a `ValueError` carrying the command line's one-line message; a failure
//! while computing is a `RuntimeError`.

use diffract::io::{psf_header, Card, CardValue, Scene};
use diffract::propagation::ComputeOptions;
use diffract::run::{compute_system, RunError};
use numpy::{PyArray1, PyArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;

/// One header card for Python: `(keyword, value, comment)`.
type PyCard<'py> = (String, Bound<'py, PyAny>, Option<String>);

/// The oversampled PSF, the detector-sampled PSF, and their header cards.
type PsfParts<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>, Vec<PyCard<'py>>, Vec<PyCard<'py>>);

/// Reads scene text as the command line reads a scene file (without a file name).
fn read_scene(scene: &str) -> PyResult<Scene> {
    Scene::from_toml_str(scene, None).map_err(|e| PyValueError::new_err(e.to_string()))
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

/// Checks scene text as `diffract psf` checks a scene file, computing nothing.
///
/// Raises `ValueError` with the command line's one-line message for bad input.
#[pyfunction]
fn check_scene(scene: &str) -> PyResult<()> {
    read_scene(scene).map(|_| ())
}

/// Computes the PSF of a Fraunhofer scene (TOML text, docs/scene-format.md).
///
/// Returns `(oversampled, det_samp, primary_cards, det_samp_cards)`: two float64 arrays
/// and, for each, the header cards `(keyword, value, comment)` that `diffract psf` writes.
/// `workers` caps the wavelengths computed at once (default: as the cores and memory
/// allow). The GIL is released while computing.
#[pyfunction]
#[pyo3(signature = (scene, workers = None))]
fn compute_psf<'py>(
    py: Python<'py>,
    scene: &str,
    workers: Option<usize>,
) -> PyResult<PsfParts<'py>> {
    let scene = read_scene(scene)?;
    let compute = match workers {
        Some(n) => ComputeOptions::default().with_workers(n),
        None => ComputeOptions::default(),
    };
    let computed = py
        .detach(|| compute_system(&scene.system, &scene.source, &compute, false))
        .map_err(run_error)?;
    let header = psf_header(&computed.psf, &computed.write_options(Some(&scene.name)));
    Ok((
        to_numpy(py, &computed.psf.image)?,
        to_numpy(py, &computed.psf.detector_sampled())?,
        cards(py, &header.primary)?,
        cards(py, &header.det_samp)?,
    ))
}

/// The extension module.
#[pymodule]
fn _diffract(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(check_scene, m)?)?;
    m.add_function(wrap_pyfunction!(compute_psf, m)?)?;
    Ok(())
}
