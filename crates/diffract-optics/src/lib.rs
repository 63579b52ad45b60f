//! Optical elements for diffract, sampled the way POPPY samples them.
//!
//! A [`PupilGrid`] fixes the sampling of the entrance pupil (pixel centres symmetric about
//! the array centre). Every pupil-plane optic implements [`PupilOptic`]: an amplitude
//! transmission and an optical path difference (OPD, metres) on that grid, both independent
//! of wavelength, so a system samples them once however many wavelengths it computes.
//!
//! Circular edges are gray: each edge pixel holds the exact area of the pixel inside the
//! circle. Polygons and spiders are sampled at pixel centres, as in POPPY.
//!
//! Image-plane optics (occulters, field stops, coronagraph masks) implement [`ImageOptic`]
//! and are evaluated on an [`ImageGrid`] in arcseconds, whose scale depends on wavelength.
//!
//! ```
//! use diffract_optics::{CircularAperture, PupilGrid, PupilOptic};
//!
//! let grid = PupilGrid::new(64, 2.0).unwrap();
//! let circle = CircularAperture::new(1.0).unwrap();
//! let t = circle.transmission(&grid).unwrap();
//! let area_m2 = t.sum() * grid.pixelscale() * grid.pixelscale();
//! assert!((area_m2 - std::f64::consts::PI).abs() < 1e-12);
//! ```

mod active;
mod analytic;
mod apertures;
mod array;
pub mod basis;
mod compound;
mod dms;
mod error;
pub mod geometry;
mod grid;
mod image;
mod optic;
mod placement;
pub mod rng;
mod screens;
mod segmented;
pub mod special;
mod wfe;
pub mod zernike;

pub use active::TipTiltStage;
pub use analytic::{
    AsymmetricSecondaryObscuration, CircularPhaseMask, GaussianAperture,
    KeystoneSegmentedCircularAperture, KnifeEdge, ScalarOpticalPathDifference,
};
pub use apertures::{
    CircularAperture, HexagonAperture, NgonAperture, RectangleAperture, ScalarTransmission,
    SecondaryObscuration, SquareAperture,
};
pub use array::{bilinear, ArrayOptic, OpdKind, Orientation};
pub use compound::{Compound, Merge};
pub use dms::{
    ContinuousDeformableMirror, DmSampling, InfluenceFunction, SegmentSampling,
    SegmentedDeformableMirror, MAX_ACTUATORS,
};
pub use error::OpticsError;
pub use grid::PupilGrid;
pub use image::{
    AnnularFieldStop, BandLimitedCoronagraph, BandLimitedProfile, BarOcculter, CircularOcculter,
    IdealFqpm, ImageGrid, ImageOptic, RectangularFieldStop,
};
pub use optic::PupilOptic;
pub use placement::{Frame, Inverse, Placed};
pub use screens::{
    KolmogorovWfe, PowerSpectrumWfe, PsdTerm, StatisticalPsdWfe, TurbulenceSpectrum,
    TurbulenceStrength, MAX_PSD_SCREEN,
};
pub use segmented::{MultiCircularAperture, MultiHexagonAperture, SegmentLayout};
pub use wfe::{ParameterizedWfe, QuadraticLens, SineWaveWfe, ThinLens, WfeBasis, ZernikeWfe};
