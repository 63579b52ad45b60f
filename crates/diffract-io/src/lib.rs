//! Scene files and FITS files for diffract.
//!
//! [`Scene`] reads the TOML scene format (docs/scene-format.md): every key is checked, and
//! an unknown kind or key is an error that names it, never silently ignored. [`KINDS`] lists
//! the optic kinds (plane, POPPY class, summary, keys); [`OpticSpec`] is one optic as serde
//! reads it, and [`OpticSpec::build`] turns it into the library's optic. [`write_psf`]
//! writes a PSF as POPPY does (primary HDU: the oversampled PSF with POPPY's keywords;
//! extension `DET_SAMP`: the PSF binned to detector pixels), atomically. [`atomic_write`] is
//! the one way diffract writes any file: to a temporary file beside the target, renamed into
//! place when complete, removed on every failure.
//!
//! ```
//! let scene = diffract_io::Scene::from_toml_str(r#"
//!     npix = 64
//!     [source]
//!     wavelengths_m = [1e-6]
//!     [[optic]]
//!     plane = "pupil"
//!     kind = "circular_aperture"
//!     radius_m = 1.0
//!     [detector]
//!     pixelscale_arcsec = 0.05
//!     fov_pixels = 32
//! "#, None).unwrap();
//! assert_eq!(scene.system.npix(), 64);
//! ```

mod error;
mod fits;
mod header;
mod pupil;
mod scene;

pub use error::{IoError, SceneError};
pub use fits::{
    atomic_write, read_image, read_image_slice, read_throughput_table, write_cube, write_image,
    write_plane, write_psf, write_webbpsf_cube, FitsImage, GridPoint, WriteOptions,
    MAX_IMAGE_PIXELS,
};
pub use header::{psf_header, Card, CardValue, PsfHeader};
pub use pupil::write_pupil;
pub use scene::{
    kind_info, AnyScene, FresnelScene, GridSpec, KindInfo, OpticContext, OpticPlane, OpticSpec,
    PlaneRule, Scene, KINDS, MAX_GRID_POINTS, OPTIC_KINDS,
};
