//! `cargo xtask gallery`: a picture of every optic kind of the scene format and the PSF of
//! every example scene, into docs/gallery, with docs/gallery.md listing them.

use diffract::io::Scene;
use diffract::optics::{ImageGrid, ImageOptic, PupilGrid};
use diffract::picture::{image_picture, optic_picture, pupil_picture, Stretch};
use diffract::propagation::{ComputeOptions, Plane};
use std::fmt::Write as _;
use std::path::Path;

/// A one-optic scene for each kind (pupil kinds on a 2.4 m pupil, image kinds in a 4"
/// field).
const KIND_SCENES: &[(&str, &str)] = &[
    ("circular_aperture", "plane = \"pupil\"\nkind = \"circular_aperture\"\nradius_m = 1.2"),
    ("secondary_obscuration", "plane = \"pupil\"\nkind = \"secondary_obscuration\"\nsecondary_radius_m = 0.3\nn_supports = 4\nsupport_width_m = 0.05"),
    ("hexagon_aperture", "plane = \"pupil\"\nkind = \"hexagon_aperture\"\nflattoflat_m = 2.0\nrotation_deg = 15.0"),
    ("multi_hexagon_aperture", "plane = \"pupil\"\nkind = \"multi_hexagon_aperture\"\nrings = 2\nflattoflat_m = 0.45\ngap_m = 0.02"),
    ("multi_circular_aperture", "plane = \"pupil\"\nkind = \"multi_circular_aperture\"\nrings = 2\nsegment_radius_m = 0.2\ngap_m = 0.05\nsegments = [1, 2, 8, 11, 13, 15, 17]"),
    ("rectangle_aperture", "plane = \"pupil\"\nkind = \"rectangle_aperture\"\nwidth_m = 1.6\nheight_m = 0.8\nrotation_deg = 20.0"),
    ("square_aperture", "plane = \"pupil\"\nkind = \"square_aperture\"\nsize_m = 1.4\nrotation_deg = 10.0"),
    ("ngon_aperture", "plane = \"pupil\"\nkind = \"ngon_aperture\"\nnsides = 5\nradius_m = 1.1"),
    ("zernike_wfe", "plane = \"pupil\"\nkind = \"zernike_wfe\"\nradius_m = 1.2\ncoefficients_m = [0.0, 0.0, 0.0, 50e-9, 20e-9, -30e-9, 10e-9]"),
    ("thin_lens", "plane = \"pupil\"\nkind = \"thin_lens\"\nnwaves = 1.0\nreference_wavelength_m = 1e-6\nradius_m = 1.2"),
    ("parameterized_wfe", "plane = \"pupil\"\nkind = \"parameterized_wfe\"\nbasis = \"hexike\"\nradius_m = 1.2\ncoefficients_m = [0.0, 0.0, 0.0, 50e-9, 20e-9, -30e-9, 10e-9]"),
    ("sine_wave_wfe", "plane = \"pupil\"\nkind = \"sine_wave_wfe\"\nspatial_frequency_per_m = 2.0\namplitude_m = 50e-9\nrotation_deg = 30.0"),
    ("statistical_psd_wfe", "plane = \"pupil\"\nkind = \"statistical_psd_wfe\"\nwfe_rms_m = 50e-9\nradius_m = 1.2\nseed = 1"),
    ("power_spectrum_wfe", "plane = \"pupil\"\nkind = \"power_spectrum_wfe\"\npsd_parameters = [[3.0, 1e-19, 0.5, 0.01, 0.0]]\nrms_m = 50e-9\nradius_m = 1.2\nseed = 1"),
    ("kolmogorov_wfe", "plane = \"pupil\"\nkind = \"kolmogorov_wfe\"\nr0_m = 0.3\nspectrum = \"von_karman\"\nouter_scale_m = 10.0\nseed = 1"),
    ("scalar_transmission", "plane = \"pupil\"\nkind = \"scalar_transmission\"\ntransmission = 0.7"),
    ("circular_occulter", "plane = \"image\"\nkind = \"circular_occulter\"\nradius_arcsec = 0.5"),
    ("annular_field_stop", "plane = \"image\"\nkind = \"annular_field_stop\"\nradius_inner_arcsec = 0.4\nradius_outer_arcsec = 1.5"),
    ("square_field_stop", "plane = \"image\"\nkind = \"square_field_stop\"\nsize_arcsec = 2.0\nrotation_deg = 20.0"),
    ("rectangular_field_stop", "plane = \"image\"\nkind = \"rectangular_field_stop\"\nwidth_arcsec = 0.4\nheight_arcsec = 3.0"),
    ("bar_occulter", "plane = \"image\"\nkind = \"bar_occulter\"\nwidth_arcsec = 0.4\nrotation_deg = 30.0"),
    ("band_limited_coronagraph", "plane = \"image\"\nkind = \"band_limited_coronagraph\"\nprofile = \"circular\"\nsigma = 5.253"),
    ("ideal_fqpm", "plane = \"image\"\nkind = \"ideal_fqpm\"\nwavelength_m = 1e-6"),
    ("continuous_deformable_mirror", "plane = \"pupil\"\nkind = \"continuous_deformable_mirror\"\ndm_shape = [8, 8]\nactuator_spacing_m = 0.28\nradius_m = 1.1\nsurface_m = [[0, 0, 0, 0, 0, 0, 0, 0], [0, 60e-9, 0, 0, 0, 0, -40e-9, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 80e-9, 80e-9, 0, 0, 0], [0, 0, 0, 80e-9, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, -50e-9, 0, 0, 0, 0, 30e-9, 0], [0, 0, 0, 0, 0, 0, 0, 0]]"),
    ("hex_segmented_deformable_mirror", "plane = \"pupil\"\nkind = \"hex_segmented_deformable_mirror\"\nrings = 2\nflattoflat_m = 0.45\ngap_m = 0.02\npiston_m = [0, 50e-9, 0, -50e-9, 0, 0, 30e-9]\ntip_rad = [1e-7, 0, 0, 0, 0, 0, 0, 0, -2e-7]\ntilt_rad = [0, 0, 2e-7]"),
    ("circular_segmented_deformable_mirror", "plane = \"pupil\"\nkind = \"circular_segmented_deformable_mirror\"\nrings = 2\nsegment_radius_m = 0.2\ngap_m = 0.05\npiston_m = [40e-9, 0, -40e-9]\ntip_rad = [0, 0, 0, 0, 2e-7]\ntilt_rad = [0, 0, 0, 0, 0, 0, -2e-7, 0, 1e-7]"),
];

fn one_optic_scene(optic: &str) -> String {
    format!(
        "npix = 256\npupil_diameter_m = 2.4\n[source]\nwavelengths_m = [1e-6]\n[[optic]]\nplane = \"pupil\"\nkind = \"scalar_transmission\"\ntransmission = 1.0\n[[optic]]\n{optic}\n[[optic]]\nplane = \"pupil\"\nkind = \"scalar_transmission\"\ntransmission = 1.0\n[detector]\npixelscale_arcsec = 0.05\nfov_pixels = 16\n"
    )
}

pub fn run(out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut md = String::from(
        "# Gallery\n\nMade by `cargo xtask gallery`. Pupil optics are drawn on a 2.4 m, 256-pixel pupil\n(transmission left, OPD right); image-plane optics in a 4\" field.\n\n## Optic kinds\n\n",
    );
    for (kind, optic) in KIND_SCENES {
        let scene = Scene::from_toml_str(&one_optic_scene(optic), None)
            .map_err(|e| format!("{kind}: {e}"))?;
        let canvas = match &scene.system.planes()[1] {
            Plane::Pupil(o) => {
                let grid = PupilGrid::new(256, 2.4).map_err(|e| e.to_string())?;
                let t = o.transmission(&grid).unwrap_or_else(|| ndarray::Array2::ones((256, 256)));
                let opd = o.opd(&grid).map(|a| a.mapv(|v| v * 1e9));
                pupil_picture(&t, opd.as_ref(), grid.pixelscale(), kind)
            }
            Plane::Image(o) => {
                let grid = ImageGrid {
                    shape: (256, 256),
                    pixelscale: 4.0 / 256.0,
                    center: (127.5, 127.5),
                    frame: None,
                };
                let t = o.transmission(&grid).unwrap_or_else(|| ndarray::Array2::ones((256, 256)));
                let opd = ImageOptic::opd(o.as_ref(), &grid).map(|a| a.mapv(|v| v * 1e9));
                optic_picture(&t, opd.as_ref(), "4 arcsec across", kind)
            }
            Plane::FqpmAligner(_) | Plane::Detector { .. } => continue,
        };
        let file = format!("kind_{kind}.png");
        canvas.write_png(&out.join(&file), true).map_err(|e| e.to_string())?;
        let _ = writeln!(md, "### `{kind}`\n\n![{kind}](gallery/{file})\n");
    }
    md.push_str("## Example PSFs\n\nThe scenes in crates/diffract/examples/scenes (the systems of the runnable examples), log stretch over 5 decades.\n\n");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/diffract/examples/scenes");
    let mut paths: Vec<_> = std::fs::read_dir(&examples)
        .map_err(|e| format!("{}: {e}", examples.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let scene = Scene::from_file(&path).map_err(|e| e.to_string())?;
        let psf = scene
            .system
            .plan()
            .and_then(|p| p.compute(&scene.source, &ComputeOptions::default()))
            .map_err(|e| e.to_string())?;
        let title = format!("{}: flux in field {:.3e}", scene.name, psf.flux());
        let file = format!("example_{}.png", scene.name);
        image_picture(&psf.image, psf.pixelscale_arcsec, &title, Stretch::Log { decades: 5.0 })
            .and_then(|c| c.write_png(&out.join(&file), true))
            .map_err(|e| e.to_string())?;
        let _ = writeln!(
            md,
            "### {}\n\n`{}`\n\n![{}](gallery/{file})\n",
            scene.name,
            path.strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
                .unwrap_or(&path)
                .display(),
            scene.name
        );
    }
    let md_path = out.parent().unwrap_or(out).join("gallery.md");
    std::fs::write(&md_path, md).map_err(|e| format!("{}: {e}", md_path.display()))?;
    println!("{}", md_path.display());
    Ok(())
}
