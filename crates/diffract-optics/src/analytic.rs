//! More of POPPY's analytic optics: a Gaussian apodizer, a knife edge, a constant OPD, a
//! circular phase mask and a secondary obscuration with arbitrary spiders.

use crate::error::{finite, non_negative, positive};
use crate::geometry::rotate_into;
use crate::{ImageGrid, ImageOptic, OpticsError, PupilGrid, PupilOptic};
use ndarray::Array2;

/// A Gaussian amplitude apodizer `t = exp(-(r / w)^2)`, `w = fwhm / (2 sqrt(ln 2))`. POPPY's
/// `GaussianAperture`, whose natural pupil diameter is three FWHM.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianAperture {
    w: f64,
}

impl GaussianAperture {
    /// A Gaussian of full width at half maximum `fwhm_m` (of the amplitude).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] unless the width is finite and positive.
    pub fn from_fwhm(fwhm_m: f64) -> Result<Self, OpticsError> {
        let fwhm = positive("gaussian_aperture", "fwhm_m", fwhm_m)?;
        Ok(GaussianAperture { w: fwhm / (2.0 * 2f64.ln().sqrt()) })
    }

    /// A Gaussian of beam width parameter `w_m`.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] unless the width is finite and positive.
    pub fn from_w(w_m: f64) -> Result<Self, OpticsError> {
        Ok(GaussianAperture { w: positive("gaussian_aperture", "w_m", w_m)? })
    }

    /// The full width at half maximum, metres (POPPY's `fwhm`: `w 2 sqrt(ln 2)`).
    pub fn fwhm(&self) -> f64 {
        self.w * (2.0 * 2f64.ln().sqrt())
    }
}

impl PupilOptic for GaussianAperture {
    fn kind(&self) -> &'static str {
        "gaussian_aperture"
    }
    fn describe(&self) -> String {
        format!("Gaussian aperture, fwhm={} m", self.fwhm())
    }
    fn natural_diameter(&self) -> Option<f64> {
        Some(3.0 * self.fwhm())
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let w = self.w;
        Some(grid.map(|y, x| (-((x * x + y * y).sqrt() / w).powi(2)).exp()))
    }
}

/// A half-infinite opaque plane whose edge runs through the origin: with no rotation the
/// edge is parallel to +Y and the side x >= 0 is opaque. POPPY's `KnifeEdge` (either plane).
#[derive(Clone, Debug, PartialEq)]
pub struct KnifeEdge {
    rotation_deg: f64,
}

impl KnifeEdge {
    /// A knife edge turned `rotation_deg` counter-clockwise.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-finite rotation.
    pub fn new(rotation_deg: f64) -> Result<Self, OpticsError> {
        Ok(KnifeEdge { rotation_deg: finite("knife_edge", "rotation_deg", rotation_deg)? })
    }

    fn sample(
        &self,
        map: impl Fn(&(dyn Fn(f64, f64) -> f64 + Sync)) -> Array2<f64>,
    ) -> Array2<f64> {
        let (s, c) = self.rotation_deg.to_radians().sin_cos();
        map(&|y, x| f64::from(u8::from(rotate_into(x, y, c, s).0 < 0.0)))
    }
}

impl PupilOptic for KnifeEdge {
    fn kind(&self) -> &'static str {
        "knife_edge"
    }
    fn describe(&self) -> String {
        format!("Knife edge at {} deg", self.rotation_deg)
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        Some(self.sample(|f| grid.map(f)))
    }
}

impl ImageOptic for KnifeEdge {
    fn kind(&self) -> &'static str {
        "knife_edge"
    }
    fn describe(&self) -> String {
        format!("Knife edge at {} deg", self.rotation_deg)
    }
    fn transmission(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        Some(self.sample(|f| grid.map(f)))
    }
}

/// A uniform OPD. POPPY's `ScalarOpticalPathDifference` (either plane).
#[derive(Clone, Debug, PartialEq)]
pub struct ScalarOpticalPathDifference {
    opd: f64,
}

impl ScalarOpticalPathDifference {
    /// An OPD of `opd_m` metres everywhere.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-finite OPD.
    pub fn new(opd_m: f64) -> Result<Self, OpticsError> {
        Ok(ScalarOpticalPathDifference {
            opd: finite("scalar_optical_path_difference", "opd_m", opd_m)?,
        })
    }
}

impl PupilOptic for ScalarOpticalPathDifference {
    fn kind(&self) -> &'static str {
        "scalar_optical_path_difference"
    }
    fn describe(&self) -> String {
        format!("Constant OPD, {} m", self.opd)
    }
    fn transmission(&self, _grid: &PupilGrid) -> Option<Array2<f64>> {
        None
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        Some(Array2::from_elem((grid.npix(), grid.npix()), self.opd))
    }
}

impl ImageOptic for ScalarOpticalPathDifference {
    fn kind(&self) -> &'static str {
        "scalar_optical_path_difference"
    }
    fn describe(&self) -> String {
        format!("Constant OPD, {} m", self.opd)
    }
    fn transmission(&self, _grid: &ImageGrid) -> Option<Array2<f64>> {
        None
    }
    fn opd(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        Some(Array2::from_elem(grid.shape, self.opd))
    }
}

/// A circular phase mask: OPD `retardance * wavelength` where `r <= radius` (binary), 0
/// outside. POPPY's `CircularPhaseMask`.
#[derive(Clone, Debug, PartialEq)]
pub struct CircularPhaseMask {
    radius: f64,
    wavelength: f64,
    retardance: f64,
}

impl CircularPhaseMask {
    /// A disc of `radius_arcsec` delaying by `retardance` waves at `wavelength_m`.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a negative radius, a non-positive wavelength or a
    /// non-finite retardance.
    pub fn new(
        radius_arcsec: f64,
        wavelength_m: f64,
        retardance: f64,
    ) -> Result<Self, OpticsError> {
        const K: &str = "circular_phase_mask";
        Ok(CircularPhaseMask {
            radius: non_negative(K, "radius_arcsec", radius_arcsec)?,
            wavelength: positive(K, "wavelength_m", wavelength_m)?,
            retardance: finite(K, "retardance", retardance)?,
        })
    }
}

impl ImageOptic for CircularPhaseMask {
    fn kind(&self) -> &'static str {
        "circular_phase_mask"
    }
    fn describe(&self) -> String {
        format!("Phase mask r={}\"", self.radius)
    }
    fn transmission(&self, _grid: &ImageGrid) -> Option<Array2<f64>> {
        None
    }
    fn opd(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        let (r0, delay) = (self.radius, self.retardance * self.wavelength);
        Some(grid.map(|y, x| if (x * x + y * y).sqrt() <= r0 { delay } else { 0.0 }))
    }
    fn blocking_extent(&self) -> Option<(f64, f64)> {
        Some((self.radius, self.radius))
    }
}

/// A central obscuration with spiders at arbitrary angles, widths and starting points.
/// POPPY's `AsymmetricSecondaryObscuration`: spider `k` starts at
/// `(offset_x[k], offset_y[k])` and runs along the angle `angle[k]` counter-clockwise from
/// +Y.
#[derive(Clone, Debug, PartialEq)]
pub struct AsymmetricSecondaryObscuration {
    secondary_radius: f64,
    /// (angle from +Y in degrees, width, offset x, offset y) per spider.
    spiders: Vec<(f64, f64, f64, f64)>,
}

impl AsymmetricSecondaryObscuration {
    /// An obscuration of radius `secondary_radius_m` with one spider per angle (degrees
    /// counter-clockwise from +Y); `widths_m`, `offsets_x_m` and `offsets_y_m` hold one value
    /// per spider or one for all.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for negative or non-finite sizes, or a list whose length is
    /// neither 1 nor the number of angles.
    pub fn new(
        secondary_radius_m: f64,
        angles_deg: &[f64],
        widths_m: &[f64],
        offsets_x_m: &[f64],
        offsets_y_m: &[f64],
    ) -> Result<Self, OpticsError> {
        const K: &str = "asymmetric_secondary_obscuration";
        let secondary_radius = non_negative(K, "secondary_radius_m", secondary_radius_m)?;
        let n = angles_deg.len();
        let each = |key: &'static str, v: &[f64], k: usize| -> Result<f64, OpticsError> {
            match v.len() {
                1 => Ok(v[0]),
                m if m == n => Ok(v[k]),
                m => Err(OpticsError::invalid(
                    K,
                    key,
                    format!("{m} values for {n} supports"),
                    "must give one value, or one per support_angle_deg",
                )),
            }
        };
        let mut spiders = Vec::with_capacity(n);
        for (k, &a) in angles_deg.iter().enumerate() {
            spiders.push((
                finite(K, "support_angle_deg", a)?,
                non_negative(K, "support_width_m", each("support_width_m", widths_m, k)?)?,
                finite(K, "support_offset_x_m", each("support_offset_x_m", offsets_x_m, k)?)?,
                finite(K, "support_offset_y_m", each("support_offset_y_m", offsets_y_m, k)?)?,
            ));
        }
        Ok(AsymmetricSecondaryObscuration { secondary_radius, spiders })
    }
}

impl PupilOptic for AsymmetricSecondaryObscuration {
    fn kind(&self) -> &'static str {
        "asymmetric_secondary_obscuration"
    }
    fn describe(&self) -> String {
        format!(
            "Asymmetric secondary obscuration, radius={} m, {} supports",
            self.secondary_radius,
            self.spiders.len()
        )
    }
    fn natural_diameter(&self) -> Option<f64> {
        Some(4.0 * self.secondary_radius)
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let spiders: Vec<(f64, f64, f64, f64, f64)> = self
            .spiders
            .iter()
            .map(|&(a, w, ox, oy)| {
                let (s, c) = (a + 90.0).to_radians().sin_cos();
                (c, s, w / 2.0, ox, oy)
            })
            .collect();
        let r2 = self.secondary_radius;
        Some(grid.map(|y, x| {
            if (x * x + y * y).sqrt() < r2 {
                return 0.0;
            }
            for &(c, s, hw, ox, oy) in &spiders {
                let (xp, yp) = rotate_into(x - ox, y - oy, c, s);
                if xp > 0.0 && yp.abs() < hw {
                    return 0.0;
                }
            }
            1.0
        }))
    }
}

/// One ring of a keystone aperture: inner and outer radius, the (cos, sin) of its radial
/// gaps.
type Ring = (f64, f64, Vec<(f64, f64)>);

/// A circular aperture cut into rings of keystone (pie-wedge) segments by radial and
/// circular gaps. POPPY's `KeystoneSegmentedCircularAperture` (hard edges, its default): the
/// circle `r <= radius`, less the circular gaps `|r - gap_radius| < gap / 2` between rings
/// and, in each ring of more than one section, the radial gaps of width `gap` at angles
/// `2 pi k / n` from +X counter-clockwise; a first ring of 0 sections leaves the centre
/// open (`r < gap_radii[0]` dark).
#[derive(Clone, Debug, PartialEq)]
pub struct KeystoneSegmentedCircularAperture {
    radius: f64,
    nsections: Vec<usize>,
    gap_radii: Vec<f64>,
    gap: f64,
}

impl KeystoneSegmentedCircularAperture {
    /// `rings` rings within `radius_m`; `nsections` holds one count for all rings or one
    /// per ring; `gap_radii_m` the radii between rings (`None`: `radius (k + 1) / rings`).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a non-positive radius, no rings, lists of the wrong
    /// length, or negative or non-finite sizes.
    pub fn new(
        radius_m: f64,
        rings: usize,
        nsections: &[usize],
        gap_radii_m: Option<&[f64]>,
        gap_m: f64,
    ) -> Result<Self, OpticsError> {
        const K: &str = "keystone_segmented_circular_aperture";
        let radius = positive(K, "radius_m", radius_m)?;
        if rings == 0 {
            return Err(OpticsError::invalid(K, "rings", rings, "must be an integer >= 1"));
        }
        let nsections = match nsections.len() {
            1 => vec![nsections[0]; rings],
            n if n == rings => nsections.to_vec(),
            n => {
                return Err(OpticsError::invalid(
                    K,
                    "nsections",
                    format!("{n} values for {rings} rings"),
                    "must give one value, or one per ring",
                ))
            }
        };
        let gap_radii = match gap_radii_m {
            None => (0..rings).map(|k| (k + 1) as f64 / rings as f64 * radius).collect(),
            Some(g) if g.len() >= rings => {
                for &v in g {
                    non_negative(K, "gap_radii_m", v)?;
                }
                g.to_vec()
            }
            Some(g) => {
                return Err(OpticsError::invalid(
                    K,
                    "gap_radii_m",
                    format!("{} values for {rings} rings", g.len()),
                    "must give one radius per ring",
                ))
            }
        };
        Ok(KeystoneSegmentedCircularAperture {
            radius,
            nsections,
            gap_radii,
            gap: non_negative(K, "gap_m", gap_m)?,
        })
    }
}

impl PupilOptic for KeystoneSegmentedCircularAperture {
    fn kind(&self) -> &'static str {
        "keystone_segmented_circular_aperture"
    }
    fn describe(&self) -> String {
        format!("Circle of wedge sections, radius={} m", self.radius)
    }
    fn natural_diameter(&self) -> Option<f64> {
        Some(2.0 * self.radius)
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let rings = self.nsections.len();
        let half = self.gap / 2.0;
        // Per ring: inner and outer radius, and the (cos, sin) of its radial gaps.
        let ring_data: Vec<Ring> = (0..rings)
            .map(|k| {
                let inner = if k == 0 { 0.0 } else { self.gap_radii[k - 1] };
                let outer = if k == rings - 1 { self.radius } else { self.gap_radii[k] };
                let n = self.nsections[k];
                let gaps = if n > 1 {
                    (0..n)
                        .map(|g| {
                            let a = g as f64 / n as f64 * 2.0 * std::f64::consts::PI;
                            (a.cos(), a.sin())
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                (inner, outer, gaps)
            })
            .collect();
        let open_centre = self.nsections[0] == 0;
        let (radius, centre_radius) = (self.radius, self.gap_radii[0]);
        Some(grid.map(|y, x| {
            let r = (x * x + y * y).sqrt();
            if r > radius {
                return 0.0;
            }
            for (k, (inner, outer, gaps)) in ring_data.iter().enumerate() {
                if k > 0 && (r - inner).abs() < half {
                    return 0.0;
                }
                if *inner < r && r < *outer {
                    for &(c, s) in gaps {
                        let (xp, yp) = rotate_into(x, y, c, s);
                        if 0.0 < xp && yp.abs() < half {
                            return 0.0;
                        }
                    }
                }
            }
            if open_centre && r < centre_radius {
                return 0.0;
            }
            1.0
        }))
    }
}
