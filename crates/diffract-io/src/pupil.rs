//! The entrance pupil as FITS: what the optics before the first image plane make, sampled
//! on the system's grid (`diffract pupil --fits`).

use crate::fits::{close_checked, create_with_image, fits_err, utf8};
use crate::IoError;
use fitsio::images::{ImageDescription, ImageType};
use ndarray::Array2;
use std::path::Path;

/// Writes the entrance pupil's amplitude transmission (primary HDU, `EXTNAME =
/// 'TRANSMISSION'`) and total OPD in metres (extension `OPD`, `BUNIT = 'm'`; zeros when no
/// optic has one), both with `PIXELSCL` (metres per pixel) and `PIXUNIT = 'meter'`, to a
/// temporary file renamed into place ([`crate::atomic_write`]).
///
/// # Errors
///
/// [`IoError::Exists`] when `path` exists and `overwrite` is false; [`IoError::Fits`] for
/// arrays of different shapes or a file that cannot be written (the temporary file is
/// removed).
pub fn write_pupil(
    path: &Path,
    transmission: &Array2<f64>,
    opd_m: Option<&Array2<f64>>,
    pixelscale_m: f64,
    overwrite: bool,
) -> Result<(), IoError> {
    utf8(path)?;
    if let Some(o) = opd_m.filter(|o| o.dim() != transmission.dim()) {
        return Err(fits_err(
            path,
            format!("OPD {:?} and transmission {:?} differ in shape", o.dim(), transmission.dim()),
        ));
    }
    crate::atomic_write(path, overwrite, |tmp| {
        let e = |err: fitsio::errors::Error| fits_err(tmp, err);
        let keys = |f: &mut fitsio::FitsFile,
                    hdu: &fitsio::hdu::FitsHdu,
                    name: &str,
                    what: &str|
         -> fitsio::errors::Result<()> {
            hdu.write_key(f, "EXTNAME", name)?;
            hdu.write_key(f, "CONTENTS", what)?;
            hdu.write_key(f, "PIXELSCL", (pixelscale_m, "Pixel scale, metres per pixel"))?;
            hdu.write_key(f, "PIXUNIT", "meter")
        };
        let (mut f, hdu) = create_with_image(tmp, transmission.view())?;
        keys(&mut f, &hdu, "TRANSMISSION", "entrance pupil amplitude transmission").map_err(e)?;
        let opd = match opd_m {
            Some(o) => o.as_standard_layout().into_owned(),
            None => Array2::<f64>::zeros(transmission.dim()),
        };
        let desc = ImageDescription {
            data_type: ImageType::Double,
            dimensions: &[opd.nrows(), opd.ncols()],
        };
        let hdu = f.create_image("OPD", &desc).map_err(e)?;
        let values = opd.as_slice().ok_or_else(|| fits_err(tmp, "OPD array not contiguous"))?;
        hdu.write_image(&mut f, values).map_err(e)?;
        keys(&mut f, &hdu, "OPD", "entrance pupil total OPD").map_err(e)?;
        hdu.write_key(&mut f, "BUNIT", "m").map_err(e)?;
        close_checked(f, tmp)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_transmission_and_opd_with_the_pixel_scale() {
        let dir = std::env::temp_dir().join(format!("diffract-pupil-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.fits");
        let t = Array2::from_shape_fn((4, 5), |(i, j)| (i * 5 + j) as f64 / 20.0);
        let opd = t.mapv(|v| v * 1e-7);
        write_pupil(&path, &t, Some(&opd), 0.25, false).unwrap();
        let back_t = crate::read_image(&path, 0).unwrap();
        let back_o = crate::read_image(&path, 1).unwrap();
        assert_eq!(back_t.data, t);
        assert_eq!(back_o.data, opd);
        assert_eq!((back_t.pixelscale, back_o.pixelscale), (Some(0.25), Some(0.25)));
        assert_eq!(back_o.bunit.as_deref(), Some("m"));
        // Kept without overwrite; a mismatched OPD is refused and writes nothing.
        assert!(matches!(write_pupil(&path, &t, None, 0.25, false), Err(IoError::Exists(_))));
        let other = dir.join("q.fits");
        assert!(write_pupil(&other, &t, Some(&Array2::zeros((5, 4))), 0.25, false).is_err());
        assert!(!other.exists());
        write_pupil(&path, &t, None, 0.25, true).unwrap();
        assert!(crate::read_image(&path, 1).unwrap().data.iter().all(|v| *v == 0.0));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
