//! FITS output (PSFs with POPPY's header keywords) and image input.

use crate::header::{field_cards, fresnel_cards, psf_header, Card, CardValue};
use crate::IoError;
use diffract_propagation::{Normalization, PlaneImage, Psf};
use fitsio::images::{ImageDescription, ImageType};
use fitsio::FitsFile;
use ndarray::Array2;
use std::path::{Path, PathBuf};

/// Metadata written with a PSF beyond what the [`Psf`] itself holds. Build it with
/// [`WriteOptions::new`] and the `with_` methods (fields may be added in later versions).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Replace an existing file.
    pub overwrite: bool,
    /// The scene's name (header `OBJECT`).
    pub name: Option<String>,
    /// The grid point this PSF is (header `GRIDHASH`, `GRIDIDX`, `OFFX`, `OFFY`).
    pub grid_point: Option<GridPoint>,
    /// Seeds of the random optics, `(1-based optic number, seed)` (headers `SEEDn`).
    pub seeds: Vec<(usize, u64)>,
    /// Where the field was normalised (header `NORMALIZ`; default "first").
    pub normalization: Normalization,
    /// The complex field on the oversampled detector (real part, imaginary part) of a
    /// single wavelength, written as extensions `REAL` and `IMAG` after `DET_SAMP`.
    pub complex_field: Option<(Array2<f64>, Array2<f64>)>,
}

impl WriteOptions {
    /// No overwrite, no name, no grid point.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replace an existing file (or not).
    #[must_use]
    pub fn with_overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// The scene's name (header `OBJECT`).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Also write the detector's complex field (real part, imaginary part), one
    /// wavelength, as extensions `REAL` and `IMAG`.
    #[must_use]
    pub fn with_complex_field(mut self, real: Array2<f64>, imag: Array2<f64>) -> Self {
        self.complex_field = Some((real, imag));
        self
    }

    /// Where the field was normalised (header `NORMALIZ`).
    #[must_use]
    pub fn with_normalization(mut self, normalization: Normalization) -> Self {
        self.normalization = normalization;
        self
    }

    /// The grid point this PSF is.
    #[must_use]
    pub fn with_grid_point(mut self, point: GridPoint) -> Self {
        self.grid_point = Some(point);
        self
    }

    /// The seeds of the system's random optics, `(1-based optic number, seed)`, written as
    /// `SEEDn` so a run with drawn seeds can be repeated.
    #[must_use]
    pub fn with_seeds(mut self, seeds: Vec<(usize, u64)>) -> Self {
        self.seeds = seeds;
        self
    }
}

/// One point of a PSF grid, as recorded in its file and in the merged cube. Made with
/// [`GridPoint::new`] (fields may be added in later versions).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GridPoint {
    /// The grid's hash (scene and point list), so points of different grids never mix.
    pub hash: String,
    /// The point's index.
    pub index: usize,
    /// Source offset on the sky, arcsec.
    pub offset_x_arcsec: f64,
    /// Source offset on the sky, arcsec.
    pub offset_y_arcsec: f64,
    /// The point's wavelength, for grids over wavelengths.
    pub wavelength_m: Option<f64>,
}

impl GridPoint {
    /// Point `index` of the grid `hash`: a source offset (arcsec) and, for grids over
    /// wavelengths, the point's wavelength (metres).
    pub fn new(
        hash: impl Into<String>,
        index: usize,
        offset_x_arcsec: f64,
        offset_y_arcsec: f64,
        wavelength_m: Option<f64>,
    ) -> Self {
        Self { hash: hash.into(), index, offset_x_arcsec, offset_y_arcsec, wavelength_m }
    }
}

/// A 2-D image read from a FITS HDU with the header values diffract uses (made by
/// [`read_image`]; fields may be added in later versions).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FitsImage {
    /// The data, rows = FITS axis 2 (y), columns = axis 1 (x).
    pub data: Array2<f64>,
    /// `PIXELSCL`, if present.
    pub pixelscale: Option<f64>,
    /// `PUPLSCAL` (metres per pixel of a pupil), if present.
    pub pupilscale: Option<f64>,
    /// `PIXSCALE` (arcsec per pixel), if present.
    pub pixscale: Option<f64>,
    /// `BUNIT`, if present.
    pub bunit: Option<String>,
    /// `WAVELEN` (metres), if present.
    pub wavelength: Option<f64>,
    /// `NWAVES`, if present.
    pub nwaves: Option<i64>,
    /// `GRIDHASH` and `GRIDIDX`, for a PSF written by `diffract grid`.
    pub grid: Option<(String, i64)>,
    /// `SAMPLING` (pixels per actuator spacing of a deformable mirror's influence
    /// function), if present.
    pub sampling: Option<f64>,
}

/// Largest image read, in pixels (a 16384 x 16384 array of doubles is 2 GiB).
pub const MAX_IMAGE_PIXELS: usize = 16384 * 16384;

pub(crate) fn fits_err(path: &Path, e: impl std::fmt::Display) -> IoError {
    // cfitsio messages may span lines; keep one.
    let message = e.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
    IoError::Fits { path: path.to_path_buf(), message }
}

/// Closes `f`, the file being written at `tmp`, and reports what closing reports: cfitsio
/// writes its last buffers then, and a network file system reports a write its server
/// refused (a full quota) only then; fitsio's close on drop ignores both. cfitsio closes and
/// frees the file; the `FitsFile` value is then forgotten, not dropped, so its path (a few
/// dozen bytes) is not freed.
pub(crate) fn close_checked(f: FitsFile, tmp: &Path) -> Result<(), IoError> {
    let mut f = std::mem::ManuallyDrop::new(f);
    let mut status = 0;
    // SAFETY: the pointer is f's open file. cfitsio closes and frees it, and f is never
    // dropped (ManuallyDrop), so nothing uses or closes it again.
    unsafe {
        fitsio::sys::ffclos(f.as_raw(), &mut status);
    }
    match status {
        0 => Ok(()),
        s => Err(fits_err(tmp, format!("closing the file failed (cfitsio status {s})"))),
    }
}

pub(crate) fn utf8(path: &Path) -> Result<&str, IoError> {
    path.to_str().ok_or_else(|| IoError::Path(path.to_path_buf()))
}

/// Most rows read from a throughput table.
const MAX_TABLE_ROWS: usize = 1_000_000;

/// Reads a throughput table: the first binary-table HDU with columns `WAVELENGTH` and
/// `THROUGHPUT` (any case), as WebbPSF's filter files hold them. The wavelength unit is
/// taken from `TUNITn` (`angstrom`, `nm`, `um` / `micron`, `m`; none means metres) and the
/// rows are returned as `(wavelength_m, throughput)`.
///
/// # Errors
///
/// [`IoError`] for an unreadable file, no such table, an unknown unit or more than a
/// million rows.
pub fn read_throughput_table(path: &Path) -> Result<Vec<(f64, f64)>, IoError> {
    utf8(path)?;
    if !path.is_file() {
        return Err(IoError::File {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let mut f = FitsFile::open(path)
        .map_err(|e| fits_err(path, format!("not a readable FITS file ({e})")))?;
    let n_hdus = f.iter().count();
    for i in 1..n_hdus {
        let hdu = f.hdu(i).map_err(|e| fits_err(path, format!("HDU {i}: {e}")))?;
        let fitsio::hdu::HduInfo::TableInfo { column_descriptions, num_rows } = &hdu.info else {
            continue;
        };
        let find =
            |want: &str| column_descriptions.iter().position(|c| c.name.eq_ignore_ascii_case(want));
        let (Some(wi), Some(ti)) = (find("WAVELENGTH"), find("THROUGHPUT")) else { continue };
        if *num_rows > MAX_TABLE_ROWS {
            return Err(fits_err(
                path,
                format!("HDU {i}: {num_rows} rows; at most 1000000 are read"),
            ));
        }
        let (wname, tname) =
            (column_descriptions[wi].name.clone(), column_descriptions[ti].name.clone());
        let unit: String = hdu.read_key(&mut f, &format!("TUNIT{}", wi + 1)).unwrap_or_default();
        let scale = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "m" | "meter" | "meters" => 1.0,
            "angstrom" | "angstroms" | "a" => 1e-10,
            "nm" | "nanometer" | "nanometers" => 1e-9,
            "um" | "micron" | "microns" | "micrometer" => 1e-6,
            other => {
                return Err(fits_err(
                    path,
                    format!("HDU {i}: wavelength unit '{other}' is not one of angstrom, nm, um, m"),
                ))
            }
        };
        let e = |err: fitsio::errors::Error| fits_err(path, format!("HDU {i}: {err}"));
        let w: Vec<f64> = hdu.read_col(&mut f, &wname).map_err(e)?;
        let t: Vec<f64> = hdu.read_col(&mut f, &tname).map_err(e)?;
        return Ok(w.into_iter().map(|l| l * scale).zip(t).collect());
    }
    Err(fits_err(path, "no binary table with WAVELENGTH and THROUGHPUT columns"))
}

/// Reads the 2-D image in HDU `hdu` (0 = primary).
///
/// # Errors
///
/// [`IoError`] for a missing or unreadable file, a missing HDU, or an HDU that is not a
/// 2-D image.
pub fn read_image(path: &Path, hdu: usize) -> Result<FitsImage, IoError> {
    read_image_impl(path, hdu, None)
}

/// Reads HDU `hdu` (0 = primary) when it is a 2-D image, or its plane `slice` (0-based,
/// along the third axis, NAXIS3) when it is a 3-D cube: POPPY's `FITSOpticalElement`
/// with `transmission_index` / `opd_index`. A 2-D image has only slice 0.
///
/// # Errors
///
/// As [`read_image`], and for a slice beyond the cube or an image of more than 3 axes.
pub fn read_image_slice(path: &Path, hdu: usize, slice: usize) -> Result<FitsImage, IoError> {
    read_image_impl(path, hdu, Some(slice))
}

fn read_image_impl(path: &Path, hdu: usize, slice: Option<usize>) -> Result<FitsImage, IoError> {
    utf8(path)?;
    if !path.is_file() {
        return Err(IoError::File {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let file_len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    // A FITS file starts with the SIMPLE card. Anything else (notably gzip or compress
    // data, which cfitsio would inflate in memory to whatever size the stream claims) is
    // refused before cfitsio sees it.
    let mut head = [0u8; 9];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .map_err(|source| IoError::File { path: path.to_path_buf(), source })?;
    if head[..n.min(2)] == [0x1f, 0x8b] || head[..n.min(2)] == [0x1f, 0x9d] {
        return Err(fits_err(
            path,
            "compressed FITS files are not read; decompress it first (gunzip)",
        ));
    }
    if n < 9 || &head != b"SIMPLE  =" {
        return Err(fits_err(path, "not a FITS file (it does not start with the SIMPLE card)"));
    }
    let mut f = FitsFile::open(path)
        .map_err(|e| fits_err(path, format!("not a readable FITS file ({e})")))?;
    let h = f.hdu(hdu).map_err(|e| fits_err(path, format!("HDU {hdu}: {e}")))?;
    // (planes along NAXIS3, rows, columns) and bytes per value.
    let (planes, shape, bytes_per_value) = match &h.info {
        fitsio::hdu::HduInfo::ImageInfo { shape, image_type }
            if shape.len() == 2 || (shape.len() == 3 && slice.is_some()) =>
        {
            use fitsio::images::ImageType as I;
            let b = match image_type {
                I::UnsignedByte | I::Byte => 1,
                I::Short | I::UnsignedShort => 2,
                I::Long | I::UnsignedLong | I::Float => 4,
                I::LongLong | I::Double => 8,
            };
            match shape[..] {
                [ny, nx] => (1, (ny, nx), b),
                [nz, ny, nx] => (nz, (ny, nx), b),
                _ => unreachable!("2 or 3 axes"),
            }
        }
        fitsio::hdu::HduInfo::ImageInfo { shape, .. } => {
            let wanted = if slice.is_some() { "a 2-D image or a 3-D cube" } else { "a 2-D image" };
            return Err(fits_err(
                path,
                format!("HDU {hdu} is a {}-D image; {wanted} is needed", shape.len()),
            ));
        }
        _ => return Err(fits_err(path, format!("HDU {hdu} is not an image"))),
    };
    let slice = slice.unwrap_or(0);
    if slice >= planes {
        let what = if planes == 1 {
            "a 2-D image (only slice 0)".to_string()
        } else {
            format!("a cube of {planes} slices (0 to {})", planes - 1)
        };
        return Err(fits_err(path, format!("slice {slice} does not exist: HDU {hdu} is {what}")));
    }
    let pixels = shape.0.saturating_mul(shape.1);
    if pixels == 0 {
        return Err(fits_err(path, format!("HDU {hdu} is an empty {}x{} image", shape.1, shape.0)));
    }
    if pixels > MAX_IMAGE_PIXELS {
        return Err(fits_err(
            path,
            format!(
                "HDU {hdu} is {}x{} pixels; images of at most 16384x16384 are read",
                shape.1, shape.0
            ),
        ));
    }
    // The header says how much data follows; a shorter file is truncated.
    if (pixels as u64).saturating_mul(planes as u64).saturating_mul(bytes_per_value) > file_len {
        let cube = if planes > 1 { format!("x{planes}") } else { String::new() };
        return Err(fits_err(
            path,
            format!(
                "truncated: the header announces {}x{}{cube} pixels but the file holds {file_len} bytes",
                shape.1, shape.0
            ),
        ));
    }
    let values: Vec<f64> = if planes == 1 {
        h.read_image(&mut f)
    } else {
        h.read_section(&mut f, slice * pixels, (slice + 1) * pixels)
    }
    .map_err(|e| fits_err(path, format!("cannot read the image ({e})")))?;
    let data = Array2::from_shape_vec(shape, values).map_err(|e| fits_err(path, e))?;
    let number =
        |f: &mut FitsFile, key: &str| h.read_key::<f64>(f, key).ok().filter(|v| v.is_finite());
    let pixelscale = number(&mut f, "PIXELSCL");
    let pupilscale = number(&mut f, "PUPLSCAL");
    let pixscale = number(&mut f, "PIXSCALE");
    let bunit = h.read_key::<String>(&mut f, "BUNIT").ok();
    let wavelength = number(&mut f, "WAVELEN");
    let nwaves = h.read_key::<i64>(&mut f, "NWAVES").ok();
    let grid =
        match (h.read_key::<String>(&mut f, "GRIDHASH"), h.read_key::<i64>(&mut f, "GRIDIDX")) {
            (Ok(hash), Ok(index)) => Some((hash, index)),
            _ => None,
        };
    let sampling = number(&mut f, "SAMPLING");
    Ok(FitsImage {
        data,
        pixelscale,
        pupilscale,
        pixscale,
        bunit,
        wavelength,
        nwaves,
        grid,
        sampling,
    })
}

/// A new FITS file at `tmp` whose primary HDU holds `data` (float64).
pub(crate) fn create_with_image(
    tmp: &Path,
    data: ndarray::ArrayView2<'_, f64>,
) -> Result<(FitsFile, fitsio::hdu::FitsHdu), IoError> {
    let data = data.as_standard_layout();
    let (mut f, hdu) = create_primary(tmp, data.dim())?;
    hdu.write_image(&mut f, data.as_slice().expect("standard layout"))
        .map_err(|err| fits_err(tmp, err))?;
    Ok((f, hdu))
}

/// Creates `tmp` with a primary HDU for a `(rows, columns)` image of doubles, its data not
/// yet written. Cards written before the data cost nothing; cards written after it that
/// outgrow the header's 2880-byte blocks make cfitsio move the data to make room.
fn create_primary(
    tmp: &Path,
    (rows, columns): (usize, usize),
) -> Result<(FitsFile, fitsio::hdu::FitsHdu), IoError> {
    let e = |err: fitsio::errors::Error| fits_err(tmp, err);
    let desc = ImageDescription { data_type: ImageType::Double, dimensions: &[rows, columns] };
    let mut f = FitsFile::create(utf8(tmp)?).with_custom_primary(&desc).open().map_err(e)?;
    let hdu = f.primary_hdu().map_err(e)?;
    Ok((f, hdu))
}

/// Distinguishes the temporary files of concurrent writes within one process.
static TEMP_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A temporary path beside `target`, unique to this process and this write.
fn temp_path(target: &Path) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = TEMP_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    target.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

/// Removes the temporary file when dropped, unless it was renamed into place: covers every
/// early return and a panic unwinding through the writer.
struct TempGuard {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes a file atomically, the one way every output of diffract is written: `write` fills
/// a temporary path beside `path` (same folder, so the rename cannot cross file systems),
/// and the complete file is renamed into place. `path` therefore holds either its old
/// content or the complete new file, never a partial one, whenever the process stops. The
/// temporary file is removed on every failure: an error from `write`, a failed rename, or a
/// panic inside `write`.
///
/// The file is not synced to disk before the rename (no `fsync`), as astropy and POPPY do
/// not sync theirs: a sync costs a few milliseconds on a local disk, a quarter of a small
/// run's writing, and much more per file on the network file systems that grids write to.
/// What the machine itself loses in a crash is left to the file system. The FITS writers
/// close their files with the close's result checked (`close_checked`), so a write refused
/// at the close is still an error.
///
/// The closure's error type `E` takes the helper's own failures through `From<IoError>`.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("diffract-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let target = dir.join("hello.txt");
/// diffract_io::atomic_write(&target, true, |tmp| {
///     std::fs::write(tmp, b"hello")
///         .map_err(|source| diffract_io::IoError::File { path: tmp.to_path_buf(), source })
/// })
/// .unwrap();
/// assert_eq!(std::fs::read(&target).unwrap(), b"hello");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
///
/// # Errors
///
/// [`IoError::Exists`] (converted to `E`) when `path` exists and `overwrite` is false,
/// checked before writing and again before the rename; the closure's own error; an
/// [`IoError::File`] when the rename fails.
pub fn atomic_write<E: From<IoError>>(
    path: &Path,
    overwrite: bool,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    if path.exists() && !overwrite {
        return Err(IoError::Exists(path.to_path_buf()).into());
    }
    // A target that exists but is not a regular file (/dev/null, a pipe) is written into,
    // never replaced: the file is made in the temporary folder and copied over.
    let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
    let tmp_path = if special {
        let name = temp_path(path);
        std::env::temp_dir().join(name.file_name().unwrap_or_default())
    } else {
        temp_path(path)
    };
    let mut guard = TempGuard { path: tmp_path, armed: true };
    let tmp = guard.path.clone();
    let _ = std::fs::remove_file(&tmp);
    write(&tmp)?;
    if path.exists() && !overwrite {
        return Err(IoError::Exists(path.to_path_buf()).into());
    }
    if special {
        let copy = || -> std::io::Result<()> {
            let mut from = std::fs::File::open(&tmp)?;
            let mut to = std::fs::OpenOptions::new().write(true).open(path)?;
            std::io::copy(&mut from, &mut to).map(|_| ())
        };
        copy().map_err(|source| IoError::File { path: path.to_path_buf(), source })?;
        return Ok(()); // the guard removes the temporary file
    }
    std::fs::rename(&tmp, path)
        .map_err(|source| IoError::File { path: path.to_path_buf(), source })?;
    guard.armed = false;
    Ok(())
}

/// [`atomic_write`] for FITS files, whose paths cfitsio needs as UTF-8.
fn atomic_write_fits(
    path: &Path,
    overwrite: bool,
    write: impl FnOnce(&Path) -> Result<(), IoError>,
) -> Result<(), IoError> {
    utf8(path)?;
    atomic_write(path, overwrite, write)
}

/// Writes `psf` to `path`: primary HDU `OVERSAMP` with the oversampled PSF, extension
/// `DET_SAMP` with the detector-sampled PSF. Written to a temporary file beside `path` and
/// renamed into place, so `path` is never left half-written.
///
/// # Errors
///
/// [`IoError::Exists`] when `path` exists and `opts.overwrite` is false; other
/// [`IoError`]s when the file cannot be written (the temporary file is removed).
pub fn write_psf(path: &Path, psf: &Psf, opts: &WriteOptions) -> Result<(), IoError> {
    atomic_write_fits(path, opts.overwrite, |tmp| write_hdus(tmp, psf, opts))
}

/// Writes a grid's PSFs as a cube (points, y, x) with per-slice keys (`OFFXnnnn`,
/// `OFFYnnnn`, `WVLNnnnn` for the first 10000 points) and a binary table `GRID` (index,
/// offset_x_arcsec, offset_y_arcsec, wavelength_m; NaN where the scene's spectrum was used),
/// atomically.
///
/// # Errors
///
/// As [`write_psf`]; the images must all have one shape.
pub fn write_cube(
    path: &Path,
    images: &[Array2<f64>],
    points: &[GridPoint],
    pixelscale: Option<f64>,
    overwrite: bool,
) -> Result<(), IoError> {
    let shape = images.first().map_or((0, 0), |a| a.dim());
    if images.is_empty() || images.iter().any(|a| a.dim() != shape) || images.len() != points.len()
    {
        return Err(fits_err(
            path,
            "a cube needs at least one image, all of one shape, one per point",
        ));
    }
    atomic_write_fits(path, overwrite, |tmp| {
        let e = |err: fitsio::errors::Error| fits_err(tmp, err);
        let desc = ImageDescription {
            data_type: ImageType::Double,
            dimensions: &[images.len(), shape.0, shape.1],
        };
        let mut f = FitsFile::create(utf8(tmp)?).with_custom_primary(&desc).open().map_err(e)?;
        let hdu = f.primary_hdu().map_err(e)?;
        // Header cards first: adding them after the data would move the data each time.
        hdu.write_key(&mut f, "NPOINTS", (points.len() as i64, "Grid points (slices)"))
            .map_err(e)?;
        hdu.write_key(&mut f, "GRIDHASH", (points[0].hash.as_str(), "Hash of the grid"))
            .map_err(e)?;
        if let Some(p) = pixelscale {
            hdu.write_key(&mut f, "PIXELSCL", (p, "Scale in arcsec/pix (after oversampling)"))
                .map_err(e)?;
        }
        for (k, p) in points.iter().enumerate().take(10_000) {
            hdu.write_key(&mut f, &format!("OFFX{k:04}"), p.offset_x_arcsec).map_err(e)?;
            hdu.write_key(&mut f, &format!("OFFY{k:04}"), p.offset_y_arcsec).map_err(e)?;
            if let Some(w) = p.wavelength_m {
                hdu.write_key(&mut f, &format!("WVLN{k:04}"), w).map_err(e)?;
            }
        }
        let mut all = Vec::with_capacity(images.len() * shape.0 * shape.1);
        for a in images {
            all.extend(a.as_standard_layout().iter().copied());
        }
        hdu.write_image(&mut f, &all).map_err(e)?;
        use fitsio::tables::{ColumnDataType, ColumnDescription};
        let cols = [
            ColumnDescription::new("index").with_type(ColumnDataType::LongLong).create(),
            ColumnDescription::new("offset_x_arcsec").with_type(ColumnDataType::Double).create(),
            ColumnDescription::new("offset_y_arcsec").with_type(ColumnDataType::Double).create(),
            ColumnDescription::new("wavelength_m").with_type(ColumnDataType::Double).create(),
        ]
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(e)?;
        let table = f.create_table("GRID", &cols).map_err(e)?;
        let index: Vec<i64> = points.iter().map(|p| p.index as i64).collect();
        let ox: Vec<f64> = points.iter().map(|p| p.offset_x_arcsec).collect();
        let oy: Vec<f64> = points.iter().map(|p| p.offset_y_arcsec).collect();
        let wl: Vec<f64> = points.iter().map(|p| p.wavelength_m.unwrap_or(f64::NAN)).collect();
        table.write_col(&mut f, "index", &index).map_err(e)?;
        table.write_col(&mut f, "offset_x_arcsec", &ox).map_err(e)?;
        table.write_col(&mut f, "offset_y_arcsec", &oy).map_err(e)?;
        table.write_col(&mut f, "wavelength_m", &wl).map_err(e)?;
        close_checked(f, tmp)
    })
}

/// Writes a PSF grid in WebbPSF's layout, which photutils' `GriddedPSFModel.read(path,
/// format="webbpsf")` loads: the cube (points, y, x) in the primary HDU, `DET_YX<i>` the
/// string `"(y, x)"` of point i's detector position in pixels, `OVERSAMP`, `NUM_PSFS`,
/// `PIXELSCL` (arcsec per oversampled pixel) and `DETPXSCL` (arcsec per detector pixel);
/// atomically. Keywords of more than 8 characters (`DET_YX100` on) are HIERARCH cards.
///
/// # Errors
///
/// As [`write_cube`].
pub fn write_webbpsf_cube(
    path: &Path,
    images: &[Array2<f64>],
    det_yx: &[(f64, f64)],
    oversample: usize,
    detector_pixelscale: f64,
    overwrite: bool,
) -> Result<(), IoError> {
    let shape = images.first().map_or((0, 0), |a| a.dim());
    if images.is_empty() || images.iter().any(|a| a.dim() != shape) || images.len() != det_yx.len()
    {
        return Err(fits_err(
            path,
            "a cube needs at least one image, all of one shape, one per position",
        ));
    }
    atomic_write_fits(path, overwrite, |tmp| {
        let e = |err: fitsio::errors::Error| fits_err(tmp, err);
        let desc = ImageDescription {
            data_type: ImageType::Double,
            dimensions: &[images.len(), shape.0, shape.1],
        };
        let mut f = FitsFile::create(utf8(tmp)?).with_custom_primary(&desc).open().map_err(e)?;
        let hdu = f.primary_hdu().map_err(e)?;
        hdu.write_key(&mut f, "NUM_PSFS", (images.len() as i64, "The total number of PSFs"))
            .map_err(e)?;
        hdu.write_key(&mut f, "OVERSAMP", (oversample as i64, "Oversampling factor")).map_err(e)?;
        hdu.write_key(
            &mut f,
            "PIXELSCL",
            (detector_pixelscale / oversample as f64, "Scale in arcsec/pix (after oversampling)"),
        )
        .map_err(e)?;
        hdu.write_key(&mut f, "DETPXSCL", (detector_pixelscale, "Detector scale in arcsec/pix"))
            .map_err(e)?;
        for (i, (y, x)) in det_yx.iter().enumerate() {
            let value = format!("({y:?}, {x:?})");
            let comment = format!("The #{i} PSF's (y,x) detector pixel position");
            hdu.write_key(&mut f, &format!("DET_YX{i}"), (value.as_str(), comment.as_str()))
                .map_err(e)?;
        }
        let mut all = Vec::with_capacity(images.len() * shape.0 * shape.1);
        for a in images {
            all.extend(a.as_standard_layout().iter().copied());
        }
        hdu.write_image(&mut f, &all).map_err(e)?;
        close_checked(f, tmp)
    })
}

/// Writes a 2-D image (primary HDU, float64) with numeric header keys, atomically.
///
/// # Errors
///
/// As [`write_psf`].
pub fn write_image(
    path: &Path,
    data: &Array2<f64>,
    keys: &[(&str, f64)],
    overwrite: bool,
) -> Result<(), IoError> {
    atomic_write_fits(path, overwrite, |tmp| {
        let e = |err: fitsio::errors::Error| fits_err(tmp, err);
        let data = data.as_standard_layout();
        let (mut f, hdu) = create_with_image(tmp, data.view())?;
        for (k, v) in keys {
            hdu.write_key(&mut f, k, *v).map_err(e)?;
        }
        close_checked(f, tmp)
    })
}

/// Writes the intensity after one plane (primary HDU) and, when known, its phase (extension
/// `PHASE`, radians), with `PLANE`, `OPTIC`, `PLANETYP` and `PIXELSCL` (`PIXUNIT` says
/// whether it is metres or arcsec per pixel).
///
/// # Errors
///
/// As [`write_psf`].
pub fn write_plane(path: &Path, plane: &PlaneImage, overwrite: bool) -> Result<(), IoError> {
    atomic_write_fits(path, overwrite, |tmp| {
        let e = |err: fitsio::errors::Error| fits_err(tmp, err);
        let data = plane.intensity.as_standard_layout();
        let (mut f, hdu) = create_with_image(tmp, data.view())?;
        let keys = |f: &mut FitsFile,
                    hdu: &fitsio::hdu::FitsHdu,
                    what: &str|
         -> fitsio::errors::Result<()> {
            hdu.write_key(f, "CONTENTS", what)?;
            hdu.write_key(
                f,
                "PLANE",
                (plane.index as i64 + 1, "Plane number in the system (1-based)"),
            )?;
            hdu.write_key(f, "OPTIC", (plane.kind, "Optic kind of the plane"))?;
            hdu.write_key(f, "PLANETYP", if plane.image_plane { "image" } else { "pupil" })?;
            hdu.write_key(f, "PIXELSCL", (plane.pixelscale, "Pixel scale"))?;
            hdu.write_key(f, "PIXUNIT", if plane.image_plane { "arcsecond" } else { "meter" })?;
            if let Some(z) = plane.z_m {
                hdu.write_key(f, "PLANEZ", (z, "Position of this plane along the beam [m]"))?;
            }
            Ok(())
        };
        keys(&mut f, &hdu, "intensity, weighted over wavelengths").map_err(e)?;
        if let Some(phase) = &plane.phase {
            let phase = phase.as_standard_layout();
            let desc = ImageDescription {
                data_type: ImageType::Double,
                dimensions: &[phase.nrows(), phase.ncols()],
            };
            let hdu = f.create_image("PHASE", &desc).map_err(e)?;
            hdu.write_image(&mut f, phase.as_slice().expect("standard layout")).map_err(e)?;
            keys(&mut f, &hdu, "phase in radians").map_err(e)?;
        }
        close_checked(f, tmp)
    })
}

fn write_hdus(tmp: &Path, psf: &Psf, opts: &WriteOptions) -> Result<(), IoError> {
    let e = |err: fitsio::errors::Error| fits_err(tmp, err);
    let over = psf.image.as_standard_layout();
    let det = psf.detector_sampled();
    let over = over.as_slice().expect("standard layout");
    // Each HDU's cards before its data.
    let (mut f, primary) = create_primary(tmp, psf.image.dim())?;
    if let Some(fresnel) = &psf.fresnel {
        // A Fresnel output: one HDU in metres, as POPPY's Fresnel calc_psf.
        write_cards(&mut f, &primary, &fresnel_cards(psf, fresnel, opts)).map_err(e)?;
        primary.write_image(&mut f, over).map_err(e)?;
        return close_checked(f, tmp);
    }
    let header = psf_header(psf, opts);
    write_cards(&mut f, &primary, &header.primary).map_err(e)?;
    primary.write_image(&mut f, over).map_err(e)?;

    let det_desc =
        ImageDescription { data_type: ImageType::Double, dimensions: &[det.nrows(), det.ncols()] };
    let hdu = f.create_image("DET_SAMP", &det_desc).map_err(e)?;
    write_cards(&mut f, &hdu, &header.det_samp).map_err(e)?;
    hdu.write_image(&mut f, det.as_slice().expect("standard layout")).map_err(e)?;
    if let Some((real, imag)) = &opts.complex_field {
        for (extname, part, what) in [("REAL", real, "real"), ("IMAG", imag, "imaginary")] {
            let part = part.as_standard_layout();
            let desc = ImageDescription {
                data_type: ImageType::Double,
                dimensions: &[part.nrows(), part.ncols()],
            };
            let hdu = f.create_image(extname, &desc).map_err(e)?;
            write_cards(&mut f, &hdu, &field_cards(psf, opts, what)).map_err(e)?;
            hdu.write_image(&mut f, part.as_slice().expect("standard layout")).map_err(e)?;
        }
    }
    close_checked(f, tmp)
}

/// Writes header cards in order.
fn write_cards(
    f: &mut FitsFile,
    hdu: &fitsio::hdu::FitsHdu,
    cards: &[Card],
) -> fitsio::errors::Result<()> {
    for card in cards {
        let key = card.key.as_str();
        match (&card.value, card.comment.as_deref()) {
            (CardValue::Int(v), Some(c)) => hdu.write_key(f, key, (*v, c))?,
            (CardValue::Int(v), None) => hdu.write_key(f, key, *v)?,
            (CardValue::Float(v), Some(c)) => hdu.write_key(f, key, (*v, c))?,
            (CardValue::Float(v), None) => hdu.write_key(f, key, *v)?,
            (CardValue::Str(v), Some(c)) => hdu.write_key(f, key, (v.as_str(), c))?,
            (CardValue::Str(v), None) => hdu.write_key(f, key, v.as_str())?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh empty folder under the system's temporary folder.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("diffract-io-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn write_bytes(tmp: &Path, bytes: &[u8]) -> Result<(), IoError> {
        std::fs::write(tmp, bytes).map_err(|source| IoError::File { path: tmp.into(), source })
    }

    #[test]
    fn a_failing_writer_leaves_neither_target_nor_temporary_file() {
        let dir = scratch("fail");
        let target = dir.join("out.fits");
        let r = atomic_write(&target, false, |tmp| {
            write_bytes(tmp, b"half")?;
            Err(fits_err(tmp, "the writer failed"))
        });
        assert!(r.unwrap_err().to_string().contains("the writer failed"));
        assert_eq!(entries(&dir), Vec::<String>::new());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_panicking_writer_leaves_the_old_file_and_no_temporary_file() {
        let dir = scratch("panic");
        let target = dir.join("out.fits");
        std::fs::write(&target, b"old").unwrap();
        let caught = std::panic::catch_unwind(|| {
            let _: Result<(), IoError> = atomic_write(&target, true, |tmp| {
                write_bytes(tmp, b"half")?;
                panic!("the writer panicked");
            });
        });
        assert!(caught.is_err());
        assert_eq!(entries(&dir), ["out.fits"]);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    #[cfg(unix)]
    fn a_device_target_is_written_into_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let null = Path::new("/dev/null");
        let is_device =
            |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.file_type().is_char_device());
        if !is_device(null) {
            return;
        }
        atomic_write(null, true, |tmp: &Path| {
            std::fs::write(tmp, b"data")
                .map_err(|source| IoError::File { path: tmp.to_path_buf(), source })
        })
        .unwrap();
        assert!(is_device(null), "/dev/null was replaced by a regular file");
    }

    #[test]
    fn a_failed_rename_removes_the_temporary_file() {
        let dir = scratch("rename");
        // A non-empty folder in the target's place: renaming a file onto it fails.
        let target = dir.join("busy");
        std::fs::create_dir_all(target.join("inside")).unwrap();
        let r = atomic_write(&target, true, |tmp| write_bytes(tmp, b"new"));
        assert!(matches!(r, Err(IoError::File { .. })), "{r:?}");
        assert_eq!(entries(&dir), ["busy"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_existing_file_is_kept_without_overwrite_and_replaced_with_it() {
        let dir = scratch("exists");
        let target = dir.join("out.txt");
        std::fs::write(&target, b"old").unwrap();
        let r = atomic_write(&target, false, |tmp| write_bytes(tmp, b"new"));
        assert!(matches!(r, Err(IoError::Exists(_))));
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        atomic_write(&target, true, |tmp| write_bytes(tmp, b"new")).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(entries(&dir), ["out.txt"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
