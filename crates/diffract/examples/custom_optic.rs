//! An optic the library has never heard of: a Gaussian-apodised circular pupil with a
//! sinusoidal polishing ripple, written as a type implementing `PupilOptic` and added to a
//! system like any other optic. The same optic written out as FITS files and read back
//! through a scene's `fits_optic` gives the same PSF.
//!
//! cargo run --release -p diffract --example custom_optic

use diffract::io::{read_image, write_image, Scene};
use diffract::optics::{PupilGrid, PupilOptic};
use diffract::propagation::{ComputeOptions, Detector, OpticalSystem, Source};
use ndarray::Array2;
use std::f64::consts::PI;

/// A circular pupil whose amplitude falls off as a Gaussian, with an OPD ripple along x.
#[derive(Debug)]
struct RippledApodizer {
    radius_m: f64,
    sigma_m: f64,
    ripple_m: f64,
    period_m: f64,
}

impl PupilOptic for RippledApodizer {
    fn kind(&self) -> &'static str {
        "rippled_apodizer"
    }

    fn describe(&self) -> String {
        format!(
            "Gaussian-apodised circle, radius {} m, sigma {} m, ripple {:.1} nm RMS every {} m",
            self.radius_m,
            self.sigma_m,
            self.ripple_m * 1e9,
            self.period_m
        )
    }

    fn natural_diameter(&self) -> Option<f64> {
        Some(2.0 * self.radius_m)
    }

    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        Some(grid.map(|y, x| {
            let r2 = x * x + y * y;
            if r2 <= self.radius_m * self.radius_m {
                (-r2 / (2.0 * self.sigma_m * self.sigma_m)).exp()
            } else {
                0.0
            }
        }))
    }

    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let amplitude = self.ripple_m * 2f64.sqrt();
        Some(grid.map(|_, x| amplitude * (2.0 * PI * x / self.period_m).sin()))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let optic = RippledApodizer { radius_m: 1.0, sigma_m: 0.6, ripple_m: 20e-9, period_m: 0.25 };
    println!("custom optic: {}", optic.describe());
    let (npix, pixelscale_arcsec, fov_pixels) = (256, 0.02, 96);
    let mut system = OpticalSystem::new("custom optic", npix, 2);
    system.add_pupil(optic);
    system.set_detector(Detector::with_fov_pixels(pixelscale_arcsec, fov_pixels)?);
    let source = Source::monochromatic(1.0e-6)?;
    let opts = ComputeOptions::default();
    let plan = system.plan()?;
    let psf = plan.compute(&source, &opts)?;
    let peak = psf.image.iter().copied().fold(0.0, f64::max);
    println!(
        "custom optic PSF: {:?} pixels, flux in field {:.6}, peak {:.4e}",
        psf.image.dim(),
        psf.flux(),
        peak
    );

    // The same optic as FITS files (its samples on the plan's grid), read by a scene.
    let dir = std::env::temp_dir().join(format!("diffract-custom-optic-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let scale = plan.grid().pixelscale();
    let transmission = plan.transmission();
    let opd = plan.opd().ok_or("the custom optic has an OPD")?;
    write_image(&dir.join("transmission.fits"), &transmission, &[("PIXELSCL", scale)], true)?;
    write_image(&dir.join("opd.fits"), opd, &[("PIXELSCL", scale)], true)?;
    let t_back = read_image(&dir.join("transmission.fits"), 0)?;
    assert_eq!(t_back.data, transmission, "FITS keeps the samples exactly");
    let scene_path = dir.join("scene.toml");
    std::fs::write(
        &scene_path,
        format!(
            "npix = {npix}\npupil_diameter_m = 2.0\n\n[source]\nwavelengths_m = [1.0e-6]\n\n\
             [[optic]]\nplane = \"pupil\"\nkind = \"fits_optic\"\n\
             transmission_path = \"transmission.fits\"\nopd_path = \"opd.fits\"\n\n\
             [detector]\npixelscale_arcsec = {pixelscale_arcsec}\nfov_pixels = {fov_pixels}\n"
        ),
    )?;
    let scene = Scene::from_file(&scene_path)?;
    let from_fits = scene.system.plan()?.compute(&scene.source, &opts)?;
    std::fs::remove_dir_all(&dir)?;

    let diff: f64 = psf.image.iter().zip(&from_fits.image).map(|(a, b)| (a - b).powi(2)).sum();
    let norm: f64 = psf.image.iter().map(|a| a * a).sum();
    let rel_l2 = (diff / norm).sqrt();
    println!("same optic from FITS files (fits_optic): relative L2 difference {rel_l2:.3e}");
    // The FITS files hold the very samples the custom optic made, on the same grid.
    assert!(rel_l2 <= 1e-12, "the custom optic and its FITS copy differ by {rel_l2:e}");
    Ok(())
}
