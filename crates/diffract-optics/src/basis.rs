//! Basis sets for wavefront error and fitting OPD maps to them, after POPPY's `zernike.py`:
//! Zernike bases on any grid, hexikes, an orthonormal basis for any aperture (Gram-Schmidt
//! from the Zernikes), segment-wise piston / tip / tilt bases, and the decomposition of an
//! OPD into coefficients (and back).
//!
//! Every basis term is held with 0 outside its support, beside a boolean support map per
//! term ([`Basis::support`]); POPPY instead marks the outside with a value (`NaN` by default),
//! which [`Basis::to_cube`] reproduces. Apertures given as numbers follow POPPY's rule: a
//! pixel is inside when its value is finite and > 0.
//!
//! ```
//! use diffract_optics::basis::{
//!     compose_opd_from_basis, decompose_opd_nonorthonormal_basis, zernike_basis, PolarCoords,
//! };
//!
//! let basis = zernike_basis(6, &PolarCoords::unit_disc(128)).unwrap();
//! let coeffs = [0.0, 1e-8, 0.0, 3e-8, 0.0, 0.0];
//! let opd = compose_opd_from_basis(&coeffs, &basis, None, f64::NAN).unwrap();
//! // Fitted term by term and refitted (5 passes): the sampled basis need not be orthonormal.
//! let fit = decompose_opd_nonorthonormal_basis(opd.view(), None, &basis, 5).unwrap();
//! assert!((fit[3] - 3e-8).abs() < 3e-12);
//! ```

use crate::apertures::inside_hexagon;
use crate::error::{non_negative, positive};
use crate::segmented::SegmentLayout;
use crate::zernike::{noll_indices, radial};
use crate::{OpticsError, PupilGrid};
use ndarray::{s, Array2, Array3, ArrayView2, ArrayView3, Axis, Zip};

/// Most terms a basis may hold (Noll index up to 1035, radial order 44).
pub const MAX_BASIS_TERMS: usize = 1035;

/// Normalised polar coordinates of a square array of samples: `rho` is 1 on the unit
/// circle, `theta` the angle from +X towards +Y in radians.
#[derive(Clone, Debug, PartialEq)]
pub struct PolarCoords {
    rho: Array2<f64>,
    theta: Array2<f64>,
}

impl PolarCoords {
    /// POPPY's default grid of `npix` samples (`zernike_basis(npix=...)`): the centres of the
    /// edge pixels sit at `rho = 1` along the axes.
    pub fn unit_disc(npix: usize) -> Self {
        let half = (npix as f64 - 1.0) / 2.0;
        let c: Vec<f64> = (0..npix).map(|i| (i as f64 - half) / half).collect();
        let rho = Array2::from_shape_fn((npix, npix), |(i, j)| (c[j] * c[j] + c[i] * c[i]).sqrt());
        let theta = Array2::from_shape_fn((npix, npix), |(i, j)| c[i].atan2(c[j]));
        PolarCoords { rho, theta }
    }

    /// The pixel centres of a pupil grid, with `rho = 1` at `radius_m` (POPPY's
    /// `ParameterizedWFE` and `ZernikeWFE` coordinates).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for a radius that is not finite and > 0.
    pub fn pupil(grid: &PupilGrid, radius_m: f64) -> Result<Self, OpticsError> {
        let r0 = positive("basis", "radius_m", radius_m)?;
        let c = grid.coords();
        let n = grid.npix();
        let rho = Array2::from_shape_fn((n, n), |(i, j)| (c[j] * c[j] + c[i] * c[i]).sqrt() / r0);
        let theta = Array2::from_shape_fn((n, n), |(i, j)| (c[i] / r0).atan2(c[j] / r0));
        Ok(PolarCoords { rho, theta })
    }

    /// Coordinates given as arrays (POPPY's `rho`, `theta` arguments).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Array`] when the arrays are not square, differ in shape or hold
    /// non-finite values.
    pub fn new(rho: Array2<f64>, theta: Array2<f64>) -> Result<Self, OpticsError> {
        if rho.dim() != theta.dim() || rho.nrows() != rho.ncols() || rho.is_empty() {
            return Err(array_error("rho and theta must be square arrays of one shape"));
        }
        if rho.iter().chain(theta.iter()).any(|v| !v.is_finite()) {
            return Err(array_error("rho and theta must be finite"));
        }
        Ok(PolarCoords { rho, theta })
    }

    /// The normalised radius of each sample.
    pub fn rho(&self) -> ArrayView2<'_, f64> {
        self.rho.view()
    }

    /// The angle of each sample, radians.
    pub fn theta(&self) -> ArrayView2<'_, f64> {
        self.theta.view()
    }

    /// Samples across the (square) array.
    pub fn npix(&self) -> usize {
        self.rho.nrows()
    }
}

fn array_error(message: &str) -> OpticsError {
    OpticsError::Array { key: "basis", message: message.to_string() }
}

/// A set of basis terms on one square array, each zero outside its support.
#[derive(Clone, Debug, PartialEq)]
pub struct Basis {
    terms: Array3<f64>,
    supports: Vec<Array2<bool>>,
    support_of: Vec<usize>,
}

impl Basis {
    /// Number of terms.
    pub fn nterms(&self) -> usize {
        self.terms.len_of(Axis(0))
    }

    /// Samples across the array.
    pub fn npix(&self) -> usize {
        self.terms.len_of(Axis(1))
    }

    /// All terms, `(nterms, npix, npix)`, zero outside their supports.
    pub fn terms(&self) -> ArrayView3<'_, f64> {
        self.terms.view()
    }

    /// Term `k` (0-based: `k = 0` is piston), zero outside its support.
    ///
    /// # Panics
    ///
    /// When `k >= nterms()`.
    pub fn term(&self, k: usize) -> ArrayView2<'_, f64> {
        self.terms.index_axis(Axis(0), k)
    }

    /// Where term `k` is defined.
    ///
    /// # Panics
    ///
    /// When `k >= nterms()`.
    pub fn support(&self, k: usize) -> ArrayView2<'_, bool> {
        self.supports[self.support_of[k]].view()
    }

    /// POPPY's cube: the terms with `outside` (POPPY's default is `NaN`) beyond each
    /// term's support.
    pub fn to_cube(&self, outside: f64) -> Array3<f64> {
        let mut cube = self.terms.clone();
        for (k, mut plane) in cube.outer_iter_mut().enumerate() {
            Zip::from(&mut plane).and(&self.supports[self.support_of[k]]).for_each(|v, &inside| {
                if !inside {
                    *v = outside;
                }
            });
        }
        cube
    }

    /// Whether every term shares one support.
    fn common_support(&self) -> bool {
        self.supports.len() == 1
    }
}

fn check_nterms(function: &'static str, nterms: usize) -> Result<(), OpticsError> {
    if nterms == 0 || nterms > MAX_BASIS_TERMS {
        return Err(OpticsError::invalid(function, "nterms", nterms, "must be from 1 to 1035"));
    }
    Ok(())
}

/// The pixels inside an aperture given as numbers: finite and > 0 (POPPY's rule).
pub fn aperture_mask(aperture: ArrayView2<'_, f64>) -> Array2<bool> {
    aperture.mapv(|v| v.is_finite() && v > 0.0)
}

/// Noll-normalised Zernike `j` (from 1) at every sample, 0 beyond `rho = 1`; computed as
/// POPPY does (radial polynomial, then the angular factor).
fn zernike_term(j: usize, coords: &PolarCoords) -> Array2<f64> {
    let (n, m) = noll_indices(j);
    let m_abs = m.unsigned_abs();
    let norm = if m == 0 { ((n + 1) as f64).sqrt() } else { (2.0 * (n + 1) as f64).sqrt() };
    let mut out = Array2::zeros(coords.rho.dim());
    Zip::from(&mut out).and(&coords.rho).and(&coords.theta).for_each(|o, &rho, &theta| {
        if rho > 1.0 {
            return;
        }
        *o = if n == 0 {
            1.0
        } else if m == 0 {
            norm * radial(n, 0, rho)
        } else if m > 0 {
            norm * radial(n, m_abs, rho) * (m_abs as f64 * theta).cos()
        } else {
            norm * radial(n, m_abs, rho) * (m_abs as f64 * theta).sin()
        };
    });
    out
}

/// The first `nterms` Noll Zernikes (from piston) on `coords`, supported on `rho <= 1`.
/// POPPY's `zernike_basis`.
///
/// # Errors
///
/// [`OpticsError::Invalid`] for `nterms` of 0 or above [`MAX_BASIS_TERMS`].
pub fn zernike_basis(nterms: usize, coords: &PolarCoords) -> Result<Basis, OpticsError> {
    check_nterms("zernike_basis", nterms)?;
    let n = coords.npix();
    let mut terms = Array3::zeros((nterms, n, n));
    for (k, mut plane) in terms.outer_iter_mut().enumerate() {
        plane.assign(&zernike_term(k + 1, coords));
    }
    let support = coords.rho.mapv(|r| r <= 1.0);
    Ok(Basis { terms, supports: vec![support], support_of: vec![0; nterms] })
}

/// A hexagon inscribed in the unit circle of `coords` (vertices at `rho = 1` on the X axis,
/// flat sides parallel to X). POPPY's `hex_aperture(rho=..., theta=...)`.
pub fn hex_aperture(coords: &PolarCoords) -> Array2<bool> {
    let mut out = Array2::from_elem(coords.rho.dim(), false);
    Zip::from(&mut out).and(&coords.rho).and(&coords.theta).for_each(|o, &rho, &theta| {
        *o = inside_hexagon(rho * theta.cos(), rho * theta.sin(), 1.0);
    });
    out
}

/// POPPY's `hex_aperture(npix=...)`: the same hexagon on a grid whose coordinate is
/// `(i - (npix - 1) / 2) / (npix / 2)`, the default aperture of `hexike_basis(npix=...)`.
/// (POPPY's Zernikes on that grid use `(npix - 1) / 2` instead; [`hexike_basis`] with
/// [`PolarCoords::unit_disc`] and this aperture reproduces POPPY's default hexikes.)
pub fn hex_aperture_npix(npix: usize) -> Array2<bool> {
    let half = (npix as f64 - 1.0) / 2.0;
    let c: Vec<f64> = (0..npix).map(|i| (i as f64 - half) / (npix as f64 / 2.0)).collect();
    Array2::from_shape_fn((npix, npix), |(i, j)| inside_hexagon(c[j], c[i], 1.0))
}

/// Gram-Schmidt on `mask` from the Zernikes `z` (0-based, piston first), as POPPY's
/// `hexike_basis` and `arbitrary_basis`: piston is the mask itself; term j is Zernike j
/// less its projections on the terms already made (classical Gram-Schmidt, projections
/// taken with the Zernike), scaled to unit RMS over the mask.
fn gram_schmidt(z: Array3<f64>, mask: Array2<bool>) -> Result<Basis, OpticsError> {
    let area = mask.iter().filter(|&&m| m).count() as f64;
    if area == 0.0 {
        return Err(array_error("the aperture holds no pixel (values finite and > 0)"));
    }
    let maskf = mask.mapv(|m| if m { 1.0 } else { 0.0 });
    let nterms = z.len_of(Axis(0));
    let (n0, n1) = mask.dim();
    let mut h = Array3::zeros((nterms, n0, n1));
    h.index_axis_mut(Axis(0), 0).assign(&maskf);
    for j in 1..nterms {
        let zj = z.index_axis(Axis(0), j);
        let mut g = &zj * &maskf;
        for k in 0..j {
            let hk = h.index_axis(Axis(0), k);
            let dot: f64 =
                Zip::from(&zj).and(&hk).and(&maskf).fold(0.0, |acc, &a, &b, &m| acc + a * b * m);
            let c = -dot / area;
            if c != 0.0 {
                g.scaled_add(c, &hk);
            }
        }
        let rms = (g.iter().map(|v| v * v).sum::<f64>() / area).sqrt();
        if !(rms > 0.0 && rms.is_finite()) {
            return Err(array_error(
                "the aperture cannot carry this many independent terms (a term vanished)",
            ));
        }
        g.mapv_inplace(|v| v / rms);
        h.index_axis_mut(Axis(0), j).assign(&g);
    }
    Ok(Basis { terms: h, supports: vec![mask], support_of: vec![0; nterms] })
}

/// Hexikes: the first `nterms` Zernikes on `coords` made orthonormal over a hexagon
/// (Mahajan and Dai 2006, numerically), ordered as the Zernikes. POPPY's `hexike_basis`.
/// `aperture` defaults to [`hex_aperture`] of `coords`; any other aperture gives the
/// orthonormal basis over it.
///
/// # Errors
///
/// [`OpticsError::Invalid`] for a bad `nterms`; [`OpticsError::Array`] for an aperture of
/// another shape or with no pixel inside.
pub fn hexike_basis(
    nterms: usize,
    coords: &PolarCoords,
    aperture: Option<ArrayView2<'_, f64>>,
) -> Result<Basis, OpticsError> {
    check_nterms("hexike_basis", nterms)?;
    let mask = match aperture {
        Some(a) => {
            if a.dim() != coords.rho.dim() {
                return Err(array_error("the aperture must have the shape of the coordinates"));
            }
            aperture_mask(a)
        }
        None => hex_aperture(coords),
    };
    gram_schmidt(zernike_basis(nterms, coords)?.terms, mask)
}

/// An orthonormal basis over any aperture: the Zernikes made orthonormal over it by
/// Gram-Schmidt (POPPY's `arbitrary_basis`). Without `coords`, the Zernikes' unit circle
/// circumscribes the aperture about the array centre (the Zernikes are computed on an
/// array padded to reach the aperture's farthest pixel, then cropped), as POPPY does.
///
/// # Errors
///
/// [`OpticsError::Invalid`] for a bad `nterms`; [`OpticsError::Array`] for a non-square
/// aperture, one with no pixel inside, or coordinates of another shape.
pub fn arbitrary_basis(
    aperture: ArrayView2<'_, f64>,
    nterms: usize,
    coords: Option<&PolarCoords>,
) -> Result<Basis, OpticsError> {
    check_nterms("arbitrary_basis", nterms)?;
    let (n0, n1) = aperture.dim();
    if n0 != n1 || n0 == 0 {
        return Err(array_error("the aperture must be a square array"));
    }
    let mask = aperture_mask(aperture);
    let z = match coords {
        Some(c) => {
            if c.rho.dim() != mask.dim() {
                return Err(array_error("the aperture must have the shape of the coordinates"));
            }
            zernike_basis(nterms, c)?.terms
        }
        None => {
            let centre = (n0 as f64 - 1.0) / 2.0;
            let extent = mask
                .indexed_iter()
                .filter(|(_, &m)| m)
                .map(|((i, j), _)| {
                    ((i as f64 - centre).powi(2) + (j as f64 - centre).powi(2)).sqrt()
                })
                .fold(0.0f64, f64::max);
            let pad = (extent - centre).max(0.0).ceil() as usize;
            let padded = zernike_basis(nterms, &PolarCoords::unit_disc(n0 + 2 * pad))?.terms;
            padded.slice(s![.., pad..pad + n0, pad..pad + n0]).to_owned()
        }
    };
    gram_schmidt(z, mask)
}

/// One segment's pixels and centre (x, y) in metres.
type SegmentMap = (Array2<bool>, (f64, f64));

/// Segment-wise piston, tip and tilt over rings of hexagonal segments, POPPY's
/// `Segment_PTT_Basis` and `Segment_Piston_Basis`: the segments of a
/// `multi_hexagon_aperture` (same keys and numbering), sampled across `pupil_diam`
/// (default the aperture's natural size, which it then fills).
///
/// Per segment, in the order of its segment list: piston (1 on the segment), tip (x from
/// the segment centre, metres) and tilt (y from the centre, metres).
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentBasis {
    layout: SegmentLayout,
    side: f64,
    pupil_diam: f64,
}

impl SegmentBasis {
    /// Rings of hexagons `flattoflat_m` across separated by `gap_m` (POPPY's defaults for
    /// this basis: 2 rings, 1 m, 0.01 m, no centre segment).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for non-positive sizes, a negative gap, too many rings or
    /// bad segments.
    pub fn new(
        rings: usize,
        flattoflat_m: f64,
        gap_m: f64,
        center: bool,
        pupil_diam_m: Option<f64>,
    ) -> Result<Self, OpticsError> {
        const K: &str = "segment_basis";
        let side = positive(K, "flattoflat_m", flattoflat_m)? / 3f64.sqrt();
        let gap = non_negative(K, "gap_m", gap_m)?;
        let layout = SegmentLayout::new(K, rings, side * 3f64.sqrt() + gap, center, None)?;
        let natural = layout.spacing() * (2 * rings + 1) as f64;
        let pupil_diam = match pupil_diam_m {
            Some(d) => positive(K, "pupil_diam_m", d)?,
            None => natural,
        };
        Ok(SegmentBasis { layout, side, pupil_diam })
    }

    /// Number of segments.
    pub fn nsegments(&self) -> usize {
        self.layout.segments().len()
    }

    /// The segment numbers, in basis order.
    pub fn segments(&self) -> &[usize] {
        self.layout.segments()
    }

    fn grid(&self, npix: usize) -> Result<PupilGrid, OpticsError> {
        PupilGrid::new(npix, self.pupil_diam)
    }

    /// Per segment, its pixel mask and its centre (x, y), metres.
    fn segment_maps(&self, npix: usize) -> Result<Vec<SegmentMap>, OpticsError> {
        let grid = self.grid(npix)?;
        let c = grid.coords();
        // A later segment overwrites an earlier one where they touch, as POPPY draws them.
        let mut owner = Array2::from_elem((npix, npix), usize::MAX);
        for (s, &seg) in self.layout.segments().iter().enumerate() {
            let (cx, cy) = self.layout.center(seg);
            for (i, &y) in c.iter().enumerate() {
                if (y - cy).abs() > self.side * 1.01 + grid.pixelscale() {
                    continue;
                }
                for (j, &x) in c.iter().enumerate() {
                    if inside_hexagon(x - cx, y - cy, self.side) {
                        owner[[i, j]] = s;
                    }
                }
            }
        }
        Ok(self
            .layout
            .segments()
            .iter()
            .enumerate()
            .map(|(s, &seg)| (owner.mapv(|o| o == s), self.layout.center(seg)))
            .collect())
    }

    /// The whole aperture (1 on every segment) on `npix` samples.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for `npix` of 0 or above 16384.
    pub fn aperture(&self, npix: usize) -> Result<Array2<f64>, OpticsError> {
        let mut t = Array2::zeros((npix, npix));
        for (mask, _) in self.segment_maps(npix)? {
            Zip::from(&mut t).and(&mask).for_each(|v, &m| {
                if m {
                    *v = 1.0;
                }
            });
        }
        Ok(t)
    }

    /// Piston, tip and tilt per segment: the first `nterms` (default all, 3 per segment).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for `nterms` of 0 or above 3 per segment, or a bad `npix`.
    pub fn ptt(&self, npix: usize, nterms: Option<usize>) -> Result<Basis, OpticsError> {
        self.build(npix, nterms, 3)
    }

    /// Piston per segment: the first `nterms` (default one per segment).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] for `nterms` of 0 or above the segment count, or a bad
    /// `npix`.
    pub fn piston(&self, npix: usize, nterms: Option<usize>) -> Result<Basis, OpticsError> {
        self.build(npix, nterms, 1)
    }

    fn build(&self, npix: usize, nterms: Option<usize>, per: usize) -> Result<Basis, OpticsError> {
        let most = per * self.nsegments();
        let nterms = nterms.unwrap_or(most);
        if nterms == 0 || nterms > most {
            return Err(OpticsError::invalid(
                "segment_basis",
                "nterms",
                nterms,
                "must be from 1 to the number of segments (times 3 for piston, tip, tilt)",
            ));
        }
        let grid = self.grid(npix)?;
        let c = grid.coords();
        let maps = self.segment_maps(npix)?;
        let mut terms = Array3::zeros((nterms, npix, npix));
        let mut supports = Vec::new();
        let mut support_of = Vec::new();
        for (s, (mask, (cx, cy))) in maps.into_iter().enumerate() {
            for t in 0..per {
                let k = s * per + t;
                if k >= nterms {
                    break;
                }
                let mut plane = terms.index_axis_mut(Axis(0), k);
                for ((i, j), v) in plane.indexed_iter_mut() {
                    if mask[[i, j]] {
                        *v = match t {
                            0 => 1.0,
                            1 => c[j] - cx,
                            _ => c[i] - cy,
                        };
                    }
                }
                support_of.push(s);
            }
            if s * per < nterms {
                supports.push(mask);
            }
        }
        Ok(Basis { terms, supports, support_of })
    }
}

fn opd_and_mask(
    function: &'static str,
    opd: ArrayView2<'_, f64>,
    aperture: Option<ArrayView2<'_, f64>>,
    basis: &Basis,
) -> Result<Array2<bool>, OpticsError> {
    let n = basis.npix();
    if opd.dim() != (n, n) {
        return Err(OpticsError::Array {
            key: "opd",
            message: format!("has shape {:?}, the basis {n} x {n} ({function})", opd.dim()),
        });
    }
    let mask = match aperture {
        Some(a) => {
            if a.dim() != opd.dim() {
                return Err(OpticsError::Array {
                    key: "aperture",
                    message: format!("has shape {:?}, the OPD {:?}", a.dim(), opd.dim()),
                });
            }
            aperture_mask(a)
        }
        None => opd.mapv(f64::is_finite),
    };
    if !mask.iter().any(|&m| m) {
        return Err(OpticsError::Array {
            key: "aperture",
            message: "holds no pixel (values finite and > 0)".into(),
        });
    }
    Ok(mask)
}

/// `sum(a * b)` over the pixels where `mask` and `support` hold.
fn masked_dot(
    a: ArrayView2<'_, f64>,
    b: ArrayView2<'_, f64>,
    mask: &Array2<bool>,
    support: ArrayView2<'_, bool>,
) -> f64 {
    Zip::from(a).and(b).and(mask).and(support).fold(
        0.0,
        |acc, &x, &y, &m, &s| {
            if m && s {
                acc + x * y
            } else {
                acc
            }
        },
    )
}

/// Coefficients of `opd` in `basis` by projection, treating the basis as orthonormal over
/// the aperture: `c_k = sum(opd * B_k) / N` over the `N` aperture pixels. POPPY's
/// `decompose_opd`. The aperture defaults to the OPD's finite pixels.
///
/// # Errors
///
/// [`OpticsError::Array`] for shapes that differ or an empty aperture.
pub fn decompose_opd(
    opd: ArrayView2<'_, f64>,
    aperture: Option<ArrayView2<'_, f64>>,
    basis: &Basis,
) -> Result<Vec<f64>, OpticsError> {
    let mask = opd_and_mask("decompose_opd", opd, aperture, basis)?;
    let ngood = mask.iter().filter(|&&m| m).count() as f64;
    Ok((0..basis.nterms())
        .map(|k| masked_dot(opd, basis.term(k), &mask, basis.support(k)) / ngood)
        .collect())
}

/// Coefficients of `opd` in a basis that need not be orthonormal over the aperture (the
/// Zernikes on an obscured pupil): each term is fitted and subtracted in turn, and the
/// residual refitted `iterations` times (POPPY uses 5). POPPY's
/// `decompose_opd_nonorthonormal_basis`.
///
/// # Errors
///
/// [`OpticsError::Array`] for shapes that differ or an empty aperture.
pub fn decompose_opd_nonorthonormal_basis(
    opd: ArrayView2<'_, f64>,
    aperture: Option<ArrayView2<'_, f64>>,
    basis: &Basis,
    iterations: usize,
) -> Result<Vec<f64>, OpticsError> {
    let mask = opd_and_mask("decompose_opd_nonorthonormal_basis", opd, aperture, basis)?;
    let ngood = mask.iter().filter(|&&m| m).count() as f64;
    let mut residual = opd.to_owned();
    let mut coeffs = vec![0.0; basis.nterms()];
    for _ in 0..iterations {
        for (k, c) in coeffs.iter_mut().enumerate() {
            let b = basis.term(k);
            let this = masked_dot(residual.view(), b, &mask, basis.support(k)) / ngood;
            residual.scaled_add(-this, &b);
            *c += this;
        }
    }
    Ok(coeffs)
}

/// Removes `border` pixels from the edge of `mask` (4-connected erosion, the outside
/// counting as empty), as scipy's `binary_erosion(mask, iterations=border)`.
fn erode(mask: &Array2<bool>, border: usize) -> Array2<bool> {
    let (n0, n1) = mask.dim();
    let mut m = mask.clone();
    for _ in 0..border {
        let prev = m.clone();
        for ((i, j), v) in m.indexed_iter_mut() {
            if *v {
                let keep = i > 0
                    && j > 0
                    && i + 1 < n0
                    && j + 1 < n1
                    && prev[[i - 1, j]]
                    && prev[[i + 1, j]]
                    && prev[[i, j - 1]]
                    && prev[[i, j + 1]];
                *v = keep;
            }
        }
    }
    m
}

/// Coefficients of `opd` in a basis of disjoint, unnormalised terms (the segment bases):
/// each term is fitted over its own support within the aperture (less `ignore_border`
/// pixels at its edge), normalised by its own mean square there, and subtracted;
/// `iterations` passes (POPPY uses 2). POPPY's `decompose_opd_segments`.
///
/// # Errors
///
/// [`OpticsError::Array`] for shapes that differ, an empty aperture, or a term with no
/// pixel left to fit.
pub fn decompose_opd_segments(
    opd: ArrayView2<'_, f64>,
    aperture: Option<ArrayView2<'_, f64>>,
    basis: &Basis,
    iterations: usize,
    ignore_border: usize,
) -> Result<Vec<f64>, OpticsError> {
    let mask = opd_and_mask("decompose_opd_segments", opd, aperture, basis)?;
    let masks: Vec<Array2<bool>> = (0..basis.nterms())
        .map(|k| {
            let m = Zip::from(&mask).and(basis.support(k)).map_collect(|&a, &b| a && b);
            if ignore_border > 0 {
                erode(&m, ignore_border)
            } else {
                m
            }
        })
        .collect();
    let mut residual = opd.to_owned();
    let mut coeffs = vec![0.0; basis.nterms()];
    for _ in 0..iterations {
        for (k, c) in coeffs.iter_mut().enumerate() {
            let b = basis.term(k);
            let m = &masks[k];
            let ngood = m.iter().filter(|&&v| v).count() as f64;
            let norm = masked_dot(b, b, m, m.view()) / ngood;
            if ngood == 0.0 || norm == 0.0 {
                return Err(OpticsError::Array {
                    key: "aperture",
                    message: format!("leaves no pixel to fit basis term {}", k + 1),
                });
            }
            let this = masked_dot(residual.view(), b, m, m.view()) / ngood / norm;
            Zip::from(&mut residual).and(b).and(m).for_each(|r, &bv, &inside| {
                if inside {
                    *r -= this * bv;
                }
            });
            *c += this;
        }
    }
    Ok(coeffs)
}

/// The OPD `sum(c_k B_k)` for coefficients in the order of the basis, with `outside` where
/// the aperture (finite values > 0), or without one no term, is defined. POPPY's
/// `compose_opd_from_basis`.
///
/// # Errors
///
/// [`OpticsError::Array`] for more coefficients than terms, non-finite coefficients or an
/// aperture of another shape.
pub fn compose_opd_from_basis(
    coeffs: &[f64],
    basis: &Basis,
    aperture: Option<ArrayView2<'_, f64>>,
    outside: f64,
) -> Result<Array2<f64>, OpticsError> {
    if coeffs.len() > basis.nterms() || coeffs.iter().any(|c| !c.is_finite()) {
        return Err(OpticsError::Array {
            key: "coefficients",
            message: format!(
                "must be at most {} finite numbers, one per basis term",
                basis.nterms()
            ),
        });
    }
    let n = basis.npix();
    let mut out = Array2::zeros((n, n));
    for (k, &c) in coeffs.iter().enumerate() {
        if c != 0.0 {
            out.scaled_add(c, &basis.term(k));
        }
    }
    let inside = match aperture {
        Some(a) => {
            if a.dim() != (n, n) {
                return Err(OpticsError::Array {
                    key: "aperture",
                    message: format!("has shape {:?}, the basis {n} x {n}", a.dim()),
                });
            }
            aperture_mask(a)
        }
        None if basis.common_support() => basis.supports[0].clone(),
        None => {
            let mut any = Array2::from_elem((n, n), false);
            for s in &basis.supports {
                Zip::from(&mut any).and(s).for_each(|a, &b| *a |= b);
            }
            any
        }
    };
    Zip::from(&mut out).and(&inside).for_each(|v, &i| {
        if !i {
            *v = outside;
        }
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Counterparts of POPPY 1.1.2's tests/test_zernike.py, at its tolerances.

    use super::*;
    use crate::{PupilOptic, SquareAperture};

    /// Population standard deviation over the support (numpy's `nanstd` of a cube with NaN
    /// outside).
    fn std_over(b: &Basis, k: usize) -> f64 {
        let s = b.support(k);
        let vals: Vec<f64> =
            b.term(k).iter().zip(s.iter()).filter(|(_, &m)| m).map(|(v, _)| *v).collect();
        let mean = vals.iter().sum::<f64>() / vals.len() as f64;
        (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64).sqrt()
    }

    /// `|sum(B_j B_k)|` over the common support, for every k other than j and piston.
    fn worst_cross(b: &Basis, j: usize) -> f64 {
        (1..b.nterms())
            .filter(|&k| k != j)
            .map(|k| masked_dot(b.term(j), b.term(k), &b.support(j).to_owned(), b.support(k)).abs())
            .fold(0.0, f64::max)
    }

    /// numpy's `allclose`: `|a - b| <= atol + rtol |b|`, rtol 1e-5.
    fn allclose(a: &[f64], b: &[f64], atol: f64) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() <= atol + 1e-5 * y.abs())
    }

    /// Normal-ish test values from a fixed seed (a 64-bit LCG; sums of 12 uniforms - 6).
    fn test_values(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        let mut uniform = move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n).map(|_| (0..12).map(|_| uniform()).sum::<f64>() - 6.0).collect()
    }

    fn square_aperture(npix: usize) -> Array2<f64> {
        let grid = PupilGrid::new(npix, 1.1).unwrap();
        SquareAperture::new(1.0, 0.0).unwrap().transmission(&grid).unwrap()
    }

    /// test_zernikes_rms: RMS of Z2..Z9 on 500 pixels is 1 within 1e-3; piston has none.
    #[test]
    fn zernikes_have_unit_rms() {
        let b = zernike_basis(10, &PolarCoords::unit_disc(500)).unwrap();
        assert_eq!(std_over(&b, 0), 0.0);
        for k in 1..9 {
            let rms = std_over(&b, k);
            assert!((rms - 1.0).abs() < 1e-3, "Z{} rms {rms}", k + 1);
        }
    }

    /// test_cross_zernikes: |sum Z_j Z_k| < 1e-9 for j = 2..6 against terms 2..6, 500 px.
    #[test]
    fn zernike_cross_terms_vanish() {
        let b = zernike_basis(6, &PolarCoords::unit_disc(500)).unwrap();
        for j in 1..6 {
            let c = worst_cross(&b, j);
            assert!(c < 1e-9, "Z{}: cross sum {c:e}", j + 1);
        }
    }

    /// test_cross_hexikes: |sum H_j H_k| < 2e-9, POPPY's default hexikes on 500 px.
    #[test]
    fn hexike_cross_terms_vanish() {
        let ap = hex_aperture_npix(500).mapv(f64::from);
        let b = hexike_basis(6, &PolarCoords::unit_disc(500), Some(ap.view())).unwrap();
        for j in 1..6 {
            let c = worst_cross(&b, j);
            assert!(c < 2e-9, "H{}: cross sum {c:e}", j + 1);
        }
        // And unit RMS over the hexagon (POPPY normalises to it exactly); tolerance 1e-12.
        for k in 1..6 {
            let ms = masked_dot(b.term(k), b.term(k), &b.support(k).to_owned(), b.support(k));
            let area = b.support(k).iter().filter(|&&m| m).count() as f64;
            assert!(((ms / area).sqrt() - 1.0).abs() < 1e-12);
        }
    }

    /// test_arbitrary_basis_rms and test_cross_arbitrary_basis on a square aperture (size 1
    /// on a 1.1 grid, 500 px): RMS 1 within 1e-3, cross sums < 2e-9.
    #[test]
    fn arbitrary_basis_is_orthonormal_on_a_square() {
        let ap = square_aperture(500);
        let b = arbitrary_basis(ap.view(), 10, None).unwrap();
        assert_eq!(std_over(&b, 0), 0.0);
        for k in 1..10 {
            let rms = std_over(&b, k);
            assert!((rms - 1.0).abs() < 1e-3, "mode {} rms {rms}", k + 1);
        }
        let b6 = arbitrary_basis(ap.view(), 6, None).unwrap();
        for j in 1..6 {
            let c = worst_cross(&b6, j);
            assert!(c < 2e-9, "mode {}: cross sum {c:e}", j + 1);
        }
    }

    /// test_decompose_opd: coefficients 0.1..0.5 recovered within 1e-3 (absolute) on 512
    /// px, by projection and by the iterative fit.
    #[test]
    fn decompose_recovers_coefficients() {
        let coeffs = [0.1, 0.2, 0.3, 0.4, 0.5];
        let b = zernike_basis(5, &PolarCoords::unit_disc(512)).unwrap();
        let opd = compose_opd_from_basis(&coeffs, &b, None, f64::NAN).unwrap();
        let fit = decompose_opd(opd.view(), None, &b).unwrap();
        let fit2 = decompose_opd_nonorthonormal_basis(opd.view(), None, &b, 5).unwrap();
        for k in 0..5 {
            assert!((fit[k] - coeffs[k]).abs() < 1e-3, "{k}: {}", fit[k]);
            assert!((fit2[k] - coeffs[k]).abs() < 1e-3, "{k}: {}", fit2[k]);
        }
    }

    /// test_compose_opd_from_basis: compose then decompose on 256 px, terms 2..5 within
    /// 2e-3 relative.
    #[test]
    fn compose_then_decompose() {
        let coeffs = [0.0, 0.1, 0.4, 2.0, -0.3];
        let b = zernike_basis(5, &PolarCoords::unit_disc(256)).unwrap();
        let opd = compose_opd_from_basis(&coeffs, &b, None, f64::NAN).unwrap();
        assert!(opd[[0, 0]].is_nan() && opd[[128, 128]].is_finite());
        let fit = decompose_opd(opd.view(), None, &b).unwrap();
        for k in 1..5 {
            let rel = ((fit[k] - coeffs[k]) / coeffs[k]).abs();
            assert!(rel < 2e-3, "{k}: {} vs {}", fit[k], coeffs[k]);
        }
    }

    /// test_piston_basis: 18 segment pistons recovered (numpy allclose: rtol 1e-5, atol
    /// 1e-8) with and without a 5-pixel border ignored.
    #[test]
    fn segment_pistons_round_trip() {
        let seg = SegmentBasis::new(2, 1.0, 0.01, false, None).unwrap();
        assert_eq!(seg.nsegments(), 18);
        let b = seg.piston(512, None).unwrap();
        let pistons = test_values(18, 1);
        let opd = compose_opd_from_basis(&pistons, &b, None, 0.0).unwrap();
        let ap = seg.aperture(512).unwrap();
        for border in [0, 5] {
            let fit = decompose_opd_segments(opd.view(), Some(ap.view()), &b, 2, border).unwrap();
            assert!(allclose(&fit, &pistons, 1e-8), "border {border}: {fit:?}");
        }
    }

    /// test_ptt_basis (tip and tilt only): recovered with numpy allclose, the zero pistons
    /// within 1e-6.
    #[test]
    fn segment_tip_tilt_round_trip() {
        let seg = SegmentBasis::new(2, 1.0, 0.01, false, None).unwrap();
        let b = seg.ptt(512, None).unwrap();
        assert_eq!(b.nterms(), 54);
        let mut ptt = test_values(54, 7);
        for s in 0..18 {
            ptt[3 * s] = 0.0;
        }
        let opd = compose_opd_from_basis(&ptt, &b, None, 0.0).unwrap();
        let ap = seg.aperture(512).unwrap();
        let fit = decompose_opd_segments(opd.view(), Some(ap.view()), &b, 2, 0).unwrap();
        for (k, (f, p)) in fit.iter().zip(&ptt).enumerate() {
            let atol = if *p == 0.0 { 1e-6 } else { 1e-8 };
            assert!((f - p).abs() <= atol + 1e-5 * p.abs(), "term {k}: {f} vs {p}");
        }
    }

    /// Bad input is refused with the function and key named, never a panic.
    #[test]
    fn bad_input_is_refused() {
        let e = zernike_basis(0, &PolarCoords::unit_disc(8)).unwrap_err().to_string();
        assert!(e.contains("zernike_basis") && e.contains("nterms"), "{e}");
        let empty = Array2::<f64>::zeros((8, 8));
        assert!(arbitrary_basis(empty.view(), 3, None).is_err());
        let b = zernike_basis(3, &PolarCoords::unit_disc(8)).unwrap();
        assert!(decompose_opd(Array2::zeros((9, 9)).view(), None, &b).is_err());
        assert!(compose_opd_from_basis(&[1.0; 4], &b, None, 0.0).is_err());
        assert!(SegmentBasis::new(2, 1.0, 0.01, false, None).unwrap().ptt(64, Some(55)).is_err());
    }
}
