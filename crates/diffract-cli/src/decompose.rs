//! `diffract decompose`: the coefficients of an OPD map in a Zernike or hexike basis.

use crate::{read_fits, Failure};
use diffract::optics::basis::{
    decompose_opd, decompose_opd_nonorthonormal_basis, hexike_basis, zernike_basis, PolarCoords,
    MAX_BASIS_TERMS,
};
use diffract::optics::zernike::noll_indices;
use std::path::PathBuf;

/// Passes of the iterative Zernike fit (POPPY's default for
/// `decompose_opd_nonorthonormal_basis`).
const ITERATIONS: usize = 5;

#[derive(clap::Args)]
pub(crate) struct DecomposeArgs {
    /// The OPD: a square 2-D image in the primary HDU, in metres (or in the unit its BUNIT
    /// keyword names: m, um, nm). The basis' unit circle reaches the centres of the edge
    /// pixels, as POPPY's `decompose_opd`.
    opd: PathBuf,
    /// `zernike` (fitted term by term and refitted, 5 passes: right on obscured pupils too)
    /// or `hexike` (the Zernikes made orthonormal over the aperture, then projected).
    #[arg(long, default_value = "zernike")]
    basis: String,
    /// Number of terms, from piston (Noll order).
    #[arg(long, default_value_t = 15)]
    nterms: usize,
    /// Transmission FITS of the same shape: pixels with finite values > 0 are fitted.
    /// Default: the OPD's finite pixels (as POPPY).
    #[arg(long)]
    aperture: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run_decompose(args: &DecomposeArgs) -> Result<(), Failure> {
    if args.basis != "zernike" && args.basis != "hexike" {
        return Err(Failure::input(format!(
            "--basis {} is invalid; must be zernike or hexike",
            args.basis
        )));
    }
    if args.nterms == 0 || args.nterms > MAX_BASIS_TERMS {
        return Err(Failure::input(format!(
            "--nterms {} is invalid; must be from 1 to {MAX_BASIS_TERMS}",
            args.nterms
        )));
    }
    let img = read_fits(&args.opd, 0)?;
    let scale = match img.bunit.as_deref().map(|u| u.trim().to_lowercase()).as_deref() {
        None | Some("" | "m" | "meter" | "meters" | "metre" | "metres") => 1.0,
        Some("um" | "micron" | "microns" | "micrometer") => 1e-6,
        Some("nm" | "nanometer" | "nanometers") => 1e-9,
        Some(other) => {
            return Err(Failure::input(format!(
                "{}: BUNIT = '{other}' is not a length unit (m, um, nm)",
                args.opd.display()
            )))
        }
    };
    let opd = img.data.mapv(|v| v * scale);
    let (rows, cols) = opd.dim();
    if rows != cols {
        return Err(Failure::input(format!(
            "{}: the OPD is {cols} x {rows} pixels; a square array is needed",
            args.opd.display()
        )));
    }
    let aperture = match &args.aperture {
        Some(path) => {
            let a = read_fits(path, 0)?.data;
            if a.dim() != opd.dim() {
                return Err(Failure::input(format!(
                    "{}: the aperture is {} x {} pixels, the OPD {cols} x {rows}",
                    path.display(),
                    a.ncols(),
                    a.nrows()
                )));
            }
            a
        }
        None => opd.mapv(|v| if v.is_finite() { 1.0 } else { 0.0 }),
    };
    let inside = aperture.iter().filter(|v| v.is_finite() && **v > 0.0).count();
    let coords = PolarCoords::unit_disc(rows);
    let coeffs = if args.basis == "zernike" {
        let basis = zernike_basis(args.nterms, &coords).map_err(Failure::input)?;
        decompose_opd_nonorthonormal_basis(opd.view(), Some(aperture.view()), &basis, ITERATIONS)
    } else {
        let basis =
            hexike_basis(args.nterms, &coords, Some(aperture.view())).map_err(Failure::input)?;
        decompose_opd(opd.view(), Some(aperture.view()), &basis)
    }
    .map_err(|e| Failure::input(format!("{}: {e}", args.opd.display())))?;
    if args.json {
        let out = serde_json::json!({
            "file": args.opd.display().to_string(),
            "basis": args.basis,
            "nterms": args.nterms,
            "aperture_pixels": inside,
            "unit": "m RMS",
            "coefficients_m": coeffs,
        });
        println!("{out}");
    } else {
        println!(
            "{}: {} {} terms over {inside} pixels (metres RMS)",
            args.opd.display(),
            args.nterms,
            args.basis
        );
        for (k, c) in coeffs.iter().enumerate() {
            let (n, m) = noll_indices(k + 1);
            println!("{:>4} (n={n}, m={m:+}) {c:>14.6e}", k + 1);
        }
    }
    Ok(())
}
