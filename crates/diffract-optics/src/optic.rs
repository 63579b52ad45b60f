//! The pupil-plane optic interface.

use crate::PupilGrid;
use ndarray::Array2;
use std::fmt::Debug;

/// An optic in a pupil plane: an amplitude transmission and an OPD, independent of
/// wavelength.
///
/// The complex field after the optic is `field * t * exp(2 pi i opd / lambda)`.
pub trait PupilOptic: Debug + Send + Sync {
    /// The scene kind of this optic, e.g. `"circular_aperture"`.
    fn kind(&self) -> &'static str;

    /// A short description, e.g. `"Circle, radius=1 m"`.
    fn describe(&self) -> String;

    /// The pupil diameter this optic implies when it is the first optic of a system and no
    /// diameter is given (POPPY's `pupil_diam`), in metres.
    fn natural_diameter(&self) -> Option<f64> {
        None
    }

    /// The focal length in metres when the optic is a Gaussian-beam lens (POPPY's
    /// `QuadraticLens`): Fresnel propagation then updates the beam's waist and reference
    /// surface instead of applying [`PupilOptic::opd`]. `None` for every other optic.
    fn lens_focal_length(&self) -> Option<f64> {
        None
    }

    /// The number of pupil samples this optic implies when it is the first optic of a system
    /// and no `npix` is given (POPPY's `planes[0].shape[0]`): the rows of a sampled array.
    fn natural_npix(&self) -> Option<usize> {
        None
    }

    /// The amplitude transmission on `grid`, or `None` for a clear (all-ones) optic.
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>>;

    /// Multiplies `t`, the transmission of the optics before this one on `grid`, by this
    /// optic's [transmission](PupilOptic::transmission) in place: the same products, bit for
    /// bit, without an array of the optic's own where it overrides this. Returns `false`
    /// (and leaves `t` alone) for a clear optic.
    fn multiply_transmission(&self, grid: &PupilGrid, t: &mut Array2<f64>) -> bool {
        match self.transmission(grid) {
            Some(own) => {
                *t *= &own;
                true
            }
            None => false,
        }
    }

    /// The OPD in metres on `grid`, or `None` for no OPD.
    fn opd(&self, _grid: &PupilGrid) -> Option<Array2<f64>> {
        None
    }

    /// The seed of a random optic (a phase screen), written into the output header so the
    /// run can be repeated; `None` for a deterministic optic.
    fn seed(&self) -> Option<u64> {
        None
    }

    /// A phase in radians on `grid`, the same at every wavelength (an OPD given in radians,
    /// as for a vector apodizing phase plate), or `None`.
    fn phase(&self, _grid: &PupilGrid) -> Option<Array2<f64>> {
        None
    }
}
