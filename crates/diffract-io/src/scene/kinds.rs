//! The optic kinds of the scene format: one table ([`KINDS`]) and one serde type ([`OpticSpec`]).
//!
//! Adding a kind is one entry in [`KINDS`] (its name, plane, POPPY class, summary, keys in
//! reading order and a minimal example), one variant of [`OpticSpec`] (its fields and their
//! defaults, as serde attributes) and one arm of [`OpticSpec::build`]. The tests below fail
//! when the two disagree, or when the kind is missing from docs/scene-format.md or
//! docs/poppy-mapping.md.
//!
//! Why the table lists the keys as well as the serde fields: the scene format's messages
//! predate serde and users rely on them. A `[[optic]]` table is read in three passes that
//! reproduce them exactly: (1) the table's keys are checked in the kind's reading order
//! (the first wrong type, non-finite number, integer out of range or missing required key
//! wins, worded as for every other table of the scene); (2) serde turns the checked keys into
//! an [`OpticSpec`], with the defaults; (3) [`OpticSpec::build`] makes the library optic
//! (its constructor's complaints come next), and only then is an unknown key refused, with a
//! "did you mean" hint and the kind's allowed keys. serde's own messages ("missing field
//! `radius_m`", "invalid type: string, expected f64") carry neither the scene's wording nor
//! its order (toml tables are sorted, so serde meets keys alphabetically), hence pass (1).
//! [`OpticSpec`] still refuses unknown keys itself (`deny_unknown_fields`) when deserialised
//! directly, from TOML or any other serde format.

use super::{dms, placement, suggestion, units, Keys, WrappedError};
use crate::SceneError;
use diffract_optics::rng::draw_seed;
use diffract_optics::{
    AnnularFieldStop, ArrayOptic, AsymmetricSecondaryObscuration, BandLimitedCoronagraph,
    BandLimitedProfile, BarOcculter, CircularAperture, CircularOcculter, CircularPhaseMask,
    Compound, GaussianAperture, HexagonAperture, IdealFqpm, ImageOptic,
    KeystoneSegmentedCircularAperture, KnifeEdge, Merge, MultiCircularAperture,
    MultiHexagonAperture, NgonAperture, OpdKind, OpticsError, Orientation, PupilOptic,
    QuadraticLens, RectangleAperture, RectangularFieldStop, ScalarOpticalPathDifference,
    ScalarTransmission, SecondaryObscuration, SegmentedDeformableMirror, SquareAperture, ThinLens,
    TipTiltStage, ZernikeWfe,
};
use diffract_optics::{
    KolmogorovWfe, ParameterizedWfe, PowerSpectrumWfe, PsdTerm, SineWaveWfe, StatisticalPsdWfe,
    TurbulenceSpectrum, TurbulenceStrength, WfeBasis,
};
use diffract_propagation::{AlignerDirection, Plane};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::{Table, Value};

/// The plane an optic sits in (a scene optic's `plane` key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpticPlane {
    /// `plane = "pupil"`.
    Pupil,
    /// `plane = "image"`.
    Image,
}

impl OpticPlane {
    /// "a pupil" or "an image", for messages.
    fn with_article(self) -> &'static str {
        match self {
            OpticPlane::Pupil => "a pupil",
            OpticPlane::Image => "an image",
        }
    }
}

/// Where an optic kind may sit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaneRule {
    /// Pupil planes only.
    Pupil,
    /// Image planes only.
    Image,
    /// Either plane.
    Either,
}

impl PlaneRule {
    /// Whether an optic of this rule may sit in `plane`.
    pub fn allows(self, plane: OpticPlane) -> bool {
        matches!(
            (self, plane),
            (PlaneRule::Either, _)
                | (PlaneRule::Pupil, OpticPlane::Pupil)
                | (PlaneRule::Image, OpticPlane::Image)
        )
    }
}

/// What a key holds, with the check made when the table is read.
#[derive(Clone, Copy, Debug)]
enum Ty {
    /// A finite number (an integer is accepted).
    Number,
    /// A finite number > 0.
    Positive,
    /// An integer from `.0` to `.1`.
    Integer(i64, i64),
    /// `true` or `false`.
    Bool,
    /// A string.
    Text,
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// A list of finite numbers.
    Numbers,
    /// A list of integers from 0 to `.0`.
    Integers(i64),
    /// A list of equally long lists of finite numbers (a map, row by row).
    NumberRows,
    /// A list of lists of `.0` finite numbers each.
    FixedRows(usize),
    /// A non-empty list of tables (the optics of a `compound_optic`).
    Tables,
    /// A table (the optic on a `tip_tilt_stage`).
    Table,
}

/// One key of a kind.
#[derive(Clone, Copy, Debug)]
struct Key {
    name: &'static str,
    ty: Ty,
    required: bool,
    /// Read only in this plane (a `fits_optic`'s pixel scale).
    only_in: Option<OpticPlane>,
}

/// One step of reading a kind's table, in order: a key, or a rule over several keys.
#[derive(Clone, Copy, Debug)]
enum Check {
    Key(Key),
    Rule(fn(&Table, OpticPlane) -> Result<(), String>),
}

const fn req(name: &'static str, ty: Ty) -> Check {
    Check::Key(Key { name, ty, required: true, only_in: None })
}

const fn opt(name: &'static str, ty: Ty) -> Check {
    Check::Key(Key { name, ty, required: false, only_in: None })
}

const fn opt_in(name: &'static str, ty: Ty, plane: OpticPlane) -> Check {
    Check::Key(Key { name, ty, required: false, only_in: Some(plane) })
}

/// One optic kind of the scene format.
#[derive(Clone, Copy, Debug)]
pub struct KindInfo {
    /// The `kind` value (POPPY's class name in snake_case).
    pub name: &'static str,
    /// Where it may sit.
    pub planes: PlaneRule,
    /// The POPPY class it reproduces (docs/poppy-mapping.md).
    pub poppy: &'static str,
    /// What it is, in one line.
    pub summary: &'static str,
    /// A minimal valid set of its keys (TOML, without `kind` and `plane`).
    pub example: &'static str,
    /// Its keys in reading order (the order of its messages and of its "allowed keys").
    checks: &'static [Check],
}

impl KindInfo {
    /// The kind's keys, in reading order, for an optic in `plane` (without `kind` and
    /// `plane`).
    pub fn keys(&self, plane: OpticPlane) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter_map(|c| match c {
                Check::Key(k) if k.only_in.is_none_or(|p| p == plane) => Some(k.name),
                _ => None,
            })
            .collect()
    }

    /// Refuses an optic of this kind in a plane it does not belong in.
    fn check_plane(&self, plane: OpticPlane) -> Result<(), String> {
        if self.planes.allows(plane) {
            return Ok(());
        }
        let (belongs, not) = (other(plane).with_article(), plane.with_article());
        Err(format!("{} belongs in {belongs} plane, not {not} plane", self.name))
    }

    /// The keys without which the optic cannot be built.
    pub fn required_keys(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter_map(|c| match c {
                Check::Key(k) if k.required => Some(k.name),
                _ => None,
            })
            .collect()
    }
}

const LENGTH_ROTATION: &[Check] =
    &[req("flattoflat_m", Ty::Number), opt("rotation_deg", Ty::Number)];
const SEGMENT_LIMIT: i64 = 1 << 20;

/// Every optic kind of the scene format, in the order of its documentation.
pub const KINDS: &[KindInfo] = &[
    KindInfo {
        name: "circular_aperture",
        planes: PlaneRule::Pupil,
        poppy: "CircularAperture",
        summary: "a circular aperture with gray edges",
        example: "radius_m = 1.0",
        checks: &[req("radius_m", Ty::Number)],
    },
    KindInfo {
        name: "secondary_obscuration",
        planes: PlaneRule::Pupil,
        poppy: "SecondaryObscuration",
        summary: "a central obscuration held by support spiders",
        example: "secondary_radius_m = 0.2",
        checks: &[
            req("secondary_radius_m", Ty::Number),
            opt("n_supports", Ty::Integer(0, 360)),
            opt("support_width_m", Ty::Number),
            opt("support_angle_offset_deg", Ty::Number),
        ],
    },
    KindInfo {
        name: "hexagon_aperture",
        planes: PlaneRule::Pupil,
        poppy: "HexagonAperture",
        summary: "a hexagonal aperture",
        example: "flattoflat_m = 1.0",
        checks: LENGTH_ROTATION,
    },
    KindInfo {
        name: "multi_hexagon_aperture",
        planes: PlaneRule::Pupil,
        poppy: "MultiHexagonAperture",
        summary: "rings of hexagonal segments",
        example: "rings = 1\nflattoflat_m = 0.5",
        checks: &[
            req("rings", Ty::Integer(0, 99)),
            req("flattoflat_m", Ty::Number),
            opt("gap_m", Ty::Number),
            opt("center", Ty::Bool),
            opt("segments", Ty::Integers(SEGMENT_LIMIT)),
        ],
    },
    KindInfo {
        name: "multi_circular_aperture",
        planes: PlaneRule::Pupil,
        poppy: "MultiCircularAperture",
        summary: "rings of circular segments",
        example: "rings = 1\nsegment_radius_m = 0.3",
        checks: &[
            req("rings", Ty::Integer(0, 99)),
            req("segment_radius_m", Ty::Number),
            opt("gap_m", Ty::Number),
            opt("center", Ty::Bool),
            opt("segments", Ty::Integers(SEGMENT_LIMIT)),
        ],
    },
    KindInfo {
        name: "rectangle_aperture",
        planes: PlaneRule::Pupil,
        poppy: "RectangleAperture",
        summary: "a rectangular aperture",
        example: "width_m = 1.0\nheight_m = 0.5",
        checks: &[
            req("width_m", Ty::Number),
            req("height_m", Ty::Number),
            opt("rotation_deg", Ty::Number),
        ],
    },
    KindInfo {
        name: "square_aperture",
        planes: PlaneRule::Pupil,
        poppy: "SquareAperture",
        summary: "a square aperture",
        example: "size_m = 1.0",
        checks: &[req("size_m", Ty::Number), opt("rotation_deg", Ty::Number)],
    },
    KindInfo {
        name: "ngon_aperture",
        planes: PlaneRule::Pupil,
        poppy: "NgonAperture",
        summary: "a regular polygon",
        example: "nsides = 6\nradius_m = 1.0",
        checks: &[
            req("nsides", Ty::Integer(3, 10_000)),
            req("radius_m", Ty::Number),
            opt("rotation_deg", Ty::Number),
        ],
    },
    KindInfo {
        name: "zernike_wfe",
        planes: PlaneRule::Pupil,
        poppy: "ZernikeWFE",
        summary: "a wavefront error from Zernike coefficients (OPD only)",
        example: "radius_m = 1.0\ncoefficients_m = [0.0, 1e-8]",
        checks: &[req("radius_m", Ty::Number), req("coefficients_m", Ty::Numbers)],
    },
    KindInfo {
        name: "thin_lens",
        planes: PlaneRule::Pupil,
        poppy: "ThinLens",
        summary: "defocus in waves at a reference wavelength, on a circular aperture",
        example: "nwaves = 1.0\nreference_wavelength_m = 1e-6\nradius_m = 1.0",
        checks: &[
            req("nwaves", Ty::Number),
            req("reference_wavelength_m", Ty::Number),
            req("radius_m", Ty::Number),
        ],
    },
    // Wavefront-error optics (POPPY's wfe.py).
    KindInfo {
        name: "parameterized_wfe",
        planes: PlaneRule::Pupil,
        poppy: "ParameterizedWFE",
        summary: "a wavefront error from Zernike or hexike coefficients (OPD only)",
        example: "basis = \"hexike\"\nradius_m = 1.0\ncoefficients_m = [0.0, 1e-8]",
        checks: &[
            req("basis", Ty::Choice(&["zernike", "hexike"])),
            req("radius_m", Ty::Number),
            req("coefficients_m", Ty::Numbers),
        ],
    },
    KindInfo {
        name: "sine_wave_wfe",
        planes: PlaneRule::Pupil,
        poppy: "SineWaveWFE",
        summary: "a sinusoidal ripple of OPD",
        example: "spatial_frequency_per_m = 2.0\namplitude_m = 1e-8",
        checks: &[
            req("spatial_frequency_per_m", Ty::Number),
            req("amplitude_m", Ty::Number),
            opt("phase_offset_cycles", Ty::Number),
            opt("rotation_deg", Ty::Number),
        ],
    },
    KindInfo {
        name: "statistical_psd_wfe",
        planes: PlaneRule::Pupil,
        poppy: "StatisticalPSDWFE",
        summary: "a random power-law OPD screen of given RMS",
        example: "wfe_rms_m = 5e-8\nradius_m = 1.0\nseed = 1",
        checks: &[
            opt("index", Ty::Number),
            req("wfe_rms_m", Ty::Number),
            req("radius_m", Ty::Number),
            opt("seed", Ty::Integer(0, i64::MAX)),
        ],
    },
    KindInfo {
        name: "power_spectrum_wfe",
        planes: PlaneRule::Pupil,
        poppy: "PowerSpectrumWFE",
        summary: "a random OPD screen from a sum of von Karman PSDs",
        example: "psd_parameters = [[2.5, 1e-18, 0.5, 0.0, 0.0]]\nseed = 1",
        checks: &[
            req("psd_parameters", Ty::FixedRows(5)),
            opt("psd_weight", Ty::Numbers),
            opt("seed", Ty::Integer(0, i64::MAX)),
            opt("rms_m", Ty::Number),
            opt("radius_m", Ty::Number),
            opt("apply_reflection", Ty::Bool),
            opt("incident_angle_deg", Ty::Number),
        ],
    },
    KindInfo {
        name: "kolmogorov_wfe",
        planes: PlaneRule::Pupil,
        poppy: "KolmogorovWFE",
        summary:
            "a turbulent phase screen (Kolmogorov, von Karman, Tatarski, Hill) with subharmonics",
        example: "r0_m = 0.2\nseed = 1",
        checks: &[
            opt("r0_m", Ty::Number),
            opt("r0_wavelength_m", Ty::Number),
            opt("r0_at_each_wavelength", Ty::Bool),
            opt("cn2", Ty::Number),
            opt("dz_m", Ty::Number),
            opt("spectrum", Ty::Choice(&["kolmogorov", "von_karman", "tatarski", "hill"])),
            opt("inner_scale_m", Ty::Number),
            opt("outer_scale_m", Ty::Number),
            opt("seed", Ty::Integer(0, i64::MAX)),
        ],
    },
    KindInfo {
        name: "scalar_transmission",
        planes: PlaneRule::Either,
        poppy: "ScalarTransmission",
        summary: "a uniform amplitude transmission",
        example: "transmission = 0.5",
        checks: &[req("transmission", Ty::Number)],
    },
    KindInfo {
        name: "quadratic_lens",
        planes: PlaneRule::Pupil,
        poppy: "QuadraticLens",
        summary: "a lens of focal length f: in a Fresnel scene it refocuses the Gaussian beam",
        example: "focal_length_m = 2.0",
        checks: &[req("focal_length_m", Ty::Number)],
    },
    KindInfo {
        name: "fqpm_fft_aligner",
        planes: PlaneRule::Pupil,
        poppy: "FQPM_FFT_aligner",
        summary: "the half-pixel tilt that centres an FFT image on an FQPM's crosshair",
        example: "",
        checks: &[opt("direction", Ty::Choice(&["forward", "backward"]))],
    },
    // Issue 15's optics.
    KindInfo {
        name: "compound_optic",
        planes: PlaneRule::Either,
        poppy: "CompoundAnalyticOptic",
        summary: "several analytic optics in one plane, merged by product (and) or union (or)",
        example: "optics = [{ kind = \"scalar_transmission\", transmission = 0.5 }]",
        checks: &[req("optics", Ty::Tables), opt("merge", Ty::Choice(&["and", "or"]))],
    },
    KindInfo {
        name: "gaussian_aperture",
        planes: PlaneRule::Pupil,
        poppy: "GaussianAperture",
        summary: "a Gaussian amplitude apodizer",
        example: "fwhm_m = 1.0",
        checks: &[
            opt("fwhm_m", Ty::Positive),
            opt("w_m", Ty::Positive),
            Check::Rule(gaussian_rule),
        ],
    },
    KindInfo {
        name: "knife_edge",
        planes: PlaneRule::Either,
        poppy: "KnifeEdge",
        summary: "a half-infinite opaque plane with its edge through the origin",
        example: "",
        checks: &[opt("rotation_deg", Ty::Number)],
    },
    KindInfo {
        name: "scalar_optical_path_difference",
        planes: PlaneRule::Either,
        poppy: "ScalarOpticalPathDifference",
        summary: "a uniform optical path difference",
        example: "opd_m = 1e-7",
        checks: &[opt("opd_m", Ty::Number)],
    },
    KindInfo {
        name: "circular_phase_mask",
        planes: PlaneRule::Image,
        poppy: "CircularPhaseMask",
        summary: "a disc delaying by a fraction of a wave at a design wavelength",
        example: "radius_arcsec = 0.1",
        checks: &[
            opt("radius_arcsec", Ty::Number),
            opt("wavelength_m", Ty::Positive),
            opt("retardance", Ty::Number),
        ],
    },
    KindInfo {
        name: "asymmetric_secondary_obscuration",
        planes: PlaneRule::Pupil,
        poppy: "AsymmetricSecondaryObscuration",
        summary: "a central obscuration with spiders at any angles, widths and starting points",
        example: "secondary_radius_m = 0.2",
        checks: &[
            req("secondary_radius_m", Ty::Number),
            opt("support_angle_deg", Ty::Numbers),
            opt("support_width_m", Ty::Numbers),
            opt("support_offset_x_m", Ty::Numbers),
            opt("support_offset_y_m", Ty::Numbers),
        ],
    },
    KindInfo {
        name: "keystone_segmented_circular_aperture",
        planes: PlaneRule::Pupil,
        poppy: "KeystoneSegmentedCircularAperture",
        summary: "a circle cut into rings of keystone segments",
        example: "radius_m = 1.0",
        checks: &[
            opt("radius_m", Ty::Number),
            opt("rings", Ty::Integer(1, 99)),
            opt("nsections", Ty::Integers(10_000)),
            opt("gap_radii_m", Ty::Numbers),
            opt("gap_m", Ty::Number),
        ],
    },
    KindInfo {
        name: "tip_tilt_stage",
        planes: PlaneRule::Pupil,
        poppy: "TipTiltStage",
        summary: "an optic on a stage tipped and tilted by angles",
        example: "optic = { kind = \"circular_aperture\", radius_m = 1.0 }",
        checks: &[
            req("optic", Ty::Table),
            opt("radius_m", Ty::Positive),
            opt("tip_arcsec", Ty::Number),
            opt("tilt_arcsec", Ty::Number),
            opt("include_factor_of_two", Ty::Bool),
        ],
    },
    KindInfo {
        name: "circular_occulter",
        planes: PlaneRule::Image,
        poppy: "CircularOcculter",
        summary: "an opaque disc",
        example: "radius_arcsec = 0.1",
        checks: &[req("radius_arcsec", Ty::Number)],
    },
    KindInfo {
        name: "annular_field_stop",
        planes: PlaneRule::Image,
        poppy: "AnnularFieldStop",
        summary: "a transmitting annulus",
        example: "",
        checks: &[opt("radius_inner_arcsec", Ty::Number), opt("radius_outer_arcsec", Ty::Number)],
    },
    KindInfo {
        name: "square_field_stop",
        planes: PlaneRule::Image,
        poppy: "SquareFieldStop",
        summary: "a transmitting square",
        example: "size_arcsec = 1.0",
        checks: &[req("size_arcsec", Ty::Number), opt("rotation_deg", Ty::Number)],
    },
    KindInfo {
        name: "rectangular_field_stop",
        planes: PlaneRule::Image,
        poppy: "RectangularFieldStop",
        summary: "a transmitting rectangle",
        example: "width_arcsec = 1.0\nheight_arcsec = 0.5",
        checks: &[
            req("width_arcsec", Ty::Number),
            req("height_arcsec", Ty::Number),
            opt("rotation_deg", Ty::Number),
        ],
    },
    KindInfo {
        name: "bar_occulter",
        planes: PlaneRule::Image,
        poppy: "BarOcculter",
        summary: "an opaque bar",
        example: "width_arcsec = 0.1",
        checks: &[req("width_arcsec", Ty::Number), opt("rotation_deg", Ty::Number)],
    },
    KindInfo {
        name: "band_limited_coronagraph",
        planes: PlaneRule::Image,
        poppy: "BandLimitedCoronagraph",
        summary: "a band-limited occulter, circular or linear",
        example: "profile = \"circular\"\nsigma = 1.0",
        checks: &[
            req("profile", Ty::Choice(&["circular", "linear"])),
            req("sigma", Ty::Number),
            opt("wavelength_m", Ty::Positive),
        ],
    },
    KindInfo {
        name: "ideal_fqpm",
        planes: PlaneRule::Image,
        poppy: "IdealFQPM",
        summary: "an ideal four-quadrant phase mask",
        example: "",
        checks: &[opt("wavelength_m", Ty::Number)],
    },
    KindInfo {
        name: "fits_optic",
        planes: PlaneRule::Either,
        poppy: "FITSOpticalElement",
        summary: "transmission and/or OPD read from FITS files",
        example: "transmission_path = \"pupil.fits\"",
        checks: &[
            opt("transmission_path", Ty::Text),
            opt("opd_path", Ty::Text),
            Check::Rule(fits_rule_paths),
            opt("opd_unit", Ty::Text),
            opt("slice", Ty::Integer(0, i32::MAX as i64)),
            opt("transmission_slice", Ty::Integer(0, i32::MAX as i64)),
            opt("opd_slice", Ty::Integer(0, i32::MAX as i64)),
            Check::Rule(fits_rule_slices),
            Check::Rule(fits_rule_scale_key),
            opt_in("pixelscale_m", Ty::Number, OpticPlane::Pupil),
            opt_in("pixelscale_arcsec", Ty::Number, OpticPlane::Image),
            opt("flip_x", Ty::Bool),
            opt("flip_y", Ty::Bool),
            opt("rotation_deg", Ty::Number),
        ],
    },
    // Deformable mirrors.
    KindInfo {
        name: "continuous_deformable_mirror",
        planes: PlaneRule::Pupil,
        poppy: "ContinuousDeformableMirror",
        summary: "a continuous face-sheet deformable mirror on a grid of actuators",
        example: "dm_shape = [4, 4]\nactuator_spacing_m = 0.25\nradius_m = 0.5",
        checks: &[
            opt("dm_shape", Ty::Integers(diffract_optics::MAX_ACTUATORS as i64)),
            opt("actuator_spacing_m", Ty::Number),
            opt("radius_m", Ty::Number),
            opt("surface_m", Ty::NumberRows),
            opt("surface_path", Ty::Text),
            Check::Rule(dm_rule_one_surface),
            opt("influence_path", Ty::Text),
            opt("flip_x", Ty::Bool),
            opt("flip_y", Ty::Bool),
            opt("include_factor_of_two", Ty::Bool),
        ],
    },
    KindInfo {
        name: "hex_segmented_deformable_mirror",
        planes: PlaneRule::Pupil,
        poppy: "HexSegmentedDeformableMirror",
        summary: "rings of hexagonal segments moved in piston, tip and tilt",
        example: "rings = 1\nflattoflat_m = 0.5",
        checks: &[
            opt("rings", Ty::Integer(0, 99)),
            opt("flattoflat_m", Ty::Number),
            opt("gap_m", Ty::Number),
            opt("center", Ty::Bool),
            opt("segments", Ty::Integers(SEGMENT_LIMIT)),
            opt("piston_m", Ty::Numbers),
            opt("tip_rad", Ty::Numbers),
            opt("tilt_rad", Ty::Numbers),
            opt("include_factor_of_two", Ty::Bool),
        ],
    },
    KindInfo {
        name: "circular_segmented_deformable_mirror",
        planes: PlaneRule::Pupil,
        poppy: "CircularSegmentedDeformableMirror",
        summary: "rings of circular segments moved in piston, tip and tilt",
        example: "rings = 1\nsegment_radius_m = 0.3",
        checks: &[
            opt("rings", Ty::Integer(0, 99)),
            opt("segment_radius_m", Ty::Number),
            opt("gap_m", Ty::Number),
            opt("center", Ty::Bool),
            opt("segments", Ty::Integers(SEGMENT_LIMIT)),
            opt("piston_m", Ty::Numbers),
            opt("tip_rad", Ty::Numbers),
            opt("tilt_rad", Ty::Numbers),
            opt("include_factor_of_two", Ty::Bool),
        ],
    },
];

const KIND_NAMES: [&str; KINDS.len()] = {
    let mut names = [""; KINDS.len()];
    let mut i = 0;
    while i < KINDS.len() {
        names[i] = KINDS[i].name;
        i += 1;
    }
    names
};

/// The optic kinds of the scene format, in the order of its documentation (the names of
/// [`KINDS`]).
pub const OPTIC_KINDS: &[&str] = &KIND_NAMES;

/// The entry of [`KINDS`] for a kind name.
pub fn kind_info(name: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.name == name)
}

fn other(plane: OpticPlane) -> OpticPlane {
    match plane {
        OpticPlane::Pupil => OpticPlane::Image,
        OpticPlane::Image => OpticPlane::Pupil,
    }
}

/// A `fits_optic`'s pixel-scale key in `plane`.
fn fits_scale_key(plane: OpticPlane) -> &'static str {
    match plane {
        OpticPlane::Pupil => "pixelscale_m",
        OpticPlane::Image => "pixelscale_arcsec",
    }
}

fn fits_paths_given(transmission: bool, opd: bool) -> Result<(), String> {
    if transmission || opd {
        Ok(())
    } else {
        Err("give transmission_path, opd_path or both".into())
    }
}

fn fits_rule_paths(t: &Table, _: OpticPlane) -> Result<(), String> {
    fits_paths_given(t.contains_key("transmission_path"), t.contains_key("opd_path"))
}

/// `slice` sets both files' slice; a file's own key may not be given beside it.
fn fits_slices_given(slice: bool, transmission: bool, opd: bool) -> Result<(), String> {
    match (slice, transmission, opd) {
        (true, true, _) => Err("give slice or transmission_slice, not both".into()),
        (true, _, true) => Err("give slice or opd_slice, not both".into()),
        _ => Ok(()),
    }
}

fn fits_rule_slices(t: &Table, _: OpticPlane) -> Result<(), String> {
    fits_slices_given(
        t.contains_key("slice"),
        t.contains_key("transmission_slice"),
        t.contains_key("opd_slice"),
    )
}

fn gaussian_widths(fwhm: bool, w: bool) -> Result<(), String> {
    match (fwhm, w) {
        (true, true) => Err("give fwhm_m or w_m, not both".into()),
        (false, false) => Err("missing required key fwhm_m (or w_m)".into()),
        _ => Ok(()),
    }
}

fn gaussian_rule(t: &Table, _: OpticPlane) -> Result<(), String> {
    gaussian_widths(t.contains_key("fwhm_m"), t.contains_key("w_m"))
}

fn dm_rule_one_surface(t: &Table, _: OpticPlane) -> Result<(), String> {
    dms::one_surface(t.contains_key("surface_m"), t.contains_key("surface_path"))
}

fn fits_rule_scale_key(t: &Table, plane: OpticPlane) -> Result<(), String> {
    fits_scale_key_fits(plane, t.contains_key(fits_scale_key(other(plane))))
}

/// Refuses the other plane's pixel-scale key.
fn fits_scale_key_fits(plane: OpticPlane, other_given: bool) -> Result<(), String> {
    if other_given {
        Err(format!(
            "{} does not apply in {} plane; use {}",
            fits_scale_key(other(plane)),
            plane.with_article(),
            fits_scale_key(plane)
        ))
    } else {
        Ok(())
    }
}

/// `"a" or "b"`, `"a", "b" or "c"`.
fn alternatives(options: &[&str]) -> String {
    let quoted: Vec<String> = options.iter().map(|o| format!("\"{o}\"")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

fn choice(key: &str, value: &str, options: &[&str]) -> Result<(), String> {
    if options.contains(&value) {
        Ok(())
    } else {
        Err(format!("{key} = \"{value}\" is invalid; must be {}", alternatives(options)))
    }
}

/// Reads one key of a kind's table (marking it read), with the scene format's messages.
fn check_key(k: &mut Keys<'_>, key: &Key) -> Result<(), SceneError> {
    let name = key.name;
    let present = k.table.contains_key(name);
    match key.ty {
        Ty::Number => {
            let _ = k.f64_opt(name)?;
        }
        Ty::Positive => {
            if let Some(x) = k.f64_opt(name)? {
                if x <= 0.0 {
                    return Err(k.err(format!("{name} = {x} is invalid; must be > 0")));
                }
            }
        }
        Ty::Integer(min, max) => {
            let _ = k.usize_opt(name, min, max)?;
        }
        Ty::Bool => {
            let _ = k.bool_or(name, false)?;
        }
        Ty::Text => {
            let _ = k.str_opt(name)?;
        }
        Ty::Choice(options) => {
            if let Some(v) = k.str_opt(name)? {
                choice(name, v, options).map_err(|m| k.err(m))?;
            }
        }
        Ty::Numbers => {
            let _ = k.f64_list_opt(name)?;
        }
        Ty::Integers(max) => {
            let _ = k.usize_list_opt(name, max)?;
        }
        Ty::NumberRows => {
            let _ = k.f64_rows_opt(name)?;
        }
        Ty::FixedRows(len) => {
            if let Some(rows) = k.list(name)? {
                for row in rows {
                    match row {
                        Value::Array(items) if items.len() == len => {
                            for v in items {
                                k.number(name, v)?;
                            }
                        }
                        _ => {
                            return Err(
                                k.err(format!("{name} must be a list of lists of {len} numbers"))
                            )
                        }
                    }
                }
            }
        }
        Ty::Tables => match k.get(name) {
            None => {}
            Some(Value::Array(a)) if a.is_empty() => {
                return Err(k.err(format!("{name} is empty; give at least one optic")));
            }
            Some(Value::Array(a)) if a.iter().all(Value::is_table) => {}
            Some(other) => {
                return Err(k.err(format!(
                    "{name} must be a list of tables (optics), got {}",
                    super::type_name(other)
                )));
            }
        },
        Ty::Table => match k.get(name) {
            None | Some(Value::Table(_)) => {}
            Some(other) => {
                return Err(k.err(format!(
                    "{name} must be a table (an optic), got {}",
                    super::type_name(other)
                )));
            }
        },
    }
    if key.required && !present {
        return Err(k.err(match key.ty {
            Ty::Choice(options) => {
                format!("missing required key {name} ({})", alternatives(options))
            }
            _ => format!("missing required key {name}"),
        }));
    }
    Ok(())
}

/// Reads, checks and builds the optic in `[[optic]]` table `t` (0-based `index`).
pub(super) fn read_optic(
    t: &Table,
    index: usize,
    file: Option<&Path>,
) -> Result<Plane, SceneError> {
    read_optic_in(t, index, file, false).map(|(plane, _)| plane)
}

/// Reads one `[[optic]]` of a Fraunhofer scene (`fresnel` false: a `plane` key, no
/// distance) or of a Fresnel scene (no `plane` key; `distance_m`, default 0; pupil-plane
/// kinds only), returning the plane and the distance.
pub(super) fn read_optic_in(
    t: &Table,
    index: usize,
    file: Option<&Path>,
    fresnel: bool,
) -> Result<(Plane, f64), SceneError> {
    let mut k = Keys::new(t, format!("optic {}", index + 1), file);
    let kind = k.str_opt("kind")?.ok_or_else(|| k.err("missing required key kind"))?;
    let Some(info) = kind_info(kind) else {
        let hint = suggestion(kind, OPTIC_KINDS.iter().copied());
        return Err(k.err(format!("unknown optic kind '{kind}'{hint}")));
    };
    k.ctx = format!("optic {} ({kind})", index + 1);
    let mut distance = 0.0;
    if fresnel {
        if t.contains_key("plane") {
            return Err(k.err(
                "a Fresnel scene has no plane keys: optics sit at distance_m from the previous one; remove plane",
            ));
        }
        distance = k.f64_or("distance_m", 0.0)?;
        if info.planes == PlaneRule::Image || kind == "fqpm_fft_aligner" {
            return Err(k.err(format!(
                "{kind} cannot be used in a Fresnel scene: Fresnel scenes take pupil-plane optics (apertures, obscurations, wavefront error, lenses)"
            )));
        }
    }
    let plane = match if fresnel { Some("pupil") } else { k.str_opt("plane")? } {
        None => return Err(k.err("missing required key plane (\"pupil\" or \"image\")")),
        Some("pupil") => OpticPlane::Pupil,
        Some("image") => OpticPlane::Image,
        Some(other) => {
            return Err(
                k.err(format!("plane = \"{other}\" is invalid; must be \"pupil\" or \"image\""))
            );
        }
    };
    info.check_plane(plane).map_err(|m| k.err(m))?;
    // Other spellings of lengths and angles (`radius_mm`, `shift_x_mas`, ...) become the
    // kind's own keys, converted.
    let mut own = info.keys(plane);
    own.extend(["shift_x_m", "shift_y_m", "shift_x_arcsec", "shift_y_arcsec", "rotation_deg"]);
    let converted = units::normalise(t, &own).map_err(|m| k.err(m))?;
    let t = converted.as_ref().unwrap_or(t);
    let mut k = Keys { table: t, used: k.used.clone(), ctx: k.ctx.clone(), file: k.file.clone() };
    for check in info.checks {
        match check {
            Check::Key(key) if key.only_in.is_none_or(|p| p == plane) => check_key(&mut k, key)?,
            Check::Key(_) => {}
            Check::Rule(rule) => rule(t, plane).map_err(|m| k.err(m))?,
        }
    }
    let checked: Table = (k.used.iter().filter(|key| !matches!(**key, "plane" | "distance_m")))
        .filter_map(|key| Some((key.to_string(), t.get(*key)?.clone())))
        .collect();
    let spec: OpticSpec = Value::Table(checked).try_into().map_err(|e: toml::de::Error| {
        k.err(e.message().split_whitespace().collect::<Vec<_>>().join(" "))
    })?;
    let optic = spec.build(plane, OpticContext { file, index })?;
    let own_rotation = info.keys(plane).contains(&"rotation_deg");
    let optic = placement::read_and_wrap(&mut k, kind, plane, own_rotation, optic)?;
    k.finish()?;
    Ok((optic, distance))
}

/// Where an optic comes from, for its messages and its relative paths.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpticContext<'a> {
    /// The scene file: named in messages; `fits_optic` paths are relative to its folder.
    pub file: Option<&'a Path>,
    /// The optic's 0-based index in the scene (messages say `optic {index + 1}`).
    pub index: usize,
}

fn default_n_supports() -> usize {
    4
}
fn default_gap_m() -> f64 {
    0.01
}
fn default_true() -> bool {
    true
}
fn default_outer_arcsec() -> f64 {
    1.0
}
fn default_fqpm_wavelength_m() -> f64 {
    10.65e-6
}
fn default_psd_index() -> f64 {
    3.0
}
fn default_r0_wavelength_m() -> f64 {
    0.5e-6
}
fn default_spectrum() -> String {
    "kolmogorov".into()
}
fn default_direction() -> String {
    "forward".into()
}
fn default_merge() -> String {
    "and".into()
}
fn default_scalar_opd_m() -> f64 {
    1e-6
}
fn default_phase_mask_wavelength_m() -> f64 {
    1e-6
}
fn default_retardance() -> f64 {
    0.5
}
fn default_support_angles_deg() -> Vec<f64> {
    vec![0.0, 90.0, 240.0]
}
fn default_support_width_m() -> Vec<f64> {
    vec![0.01]
}
fn default_keystone_rings() -> usize {
    2
}
fn default_keystone_sections() -> Vec<usize> {
    vec![4]
}
fn default_zero_list() -> Vec<f64> {
    vec![0.0]
}
fn default_dm_shape() -> Vec<usize> {
    vec![10, 10]
}
fn default_one() -> f64 {
    1.0
}
fn default_hex_dm_rings() -> usize {
    3
}
fn default_circular_dm_rings() -> usize {
    1
}

/// One `[[optic]]` of a scene, without its `plane`: serde reads it from a table tagged by
/// `kind`, refusing unknown keys; the defaults are the serde attributes here. Values are
/// checked when [`built`](OpticSpec::build) (by the optics' constructors); the scene reader
/// also checks integer ranges and reports problems in the scene format's words and order.
/// See [`KINDS`] for what each kind is and docs/scene-format.md for its keys.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum OpticSpec {
    /// POPPY's `CircularAperture`.
    CircularAperture {
        /// Radius, metres.
        radius_m: f64,
    },
    /// POPPY's `SecondaryObscuration`.
    SecondaryObscuration {
        /// Radius of the obscuration, metres.
        secondary_radius_m: f64,
        /// Number of support spiders (0 to 360; default 4).
        #[serde(default = "default_n_supports")]
        n_supports: usize,
        /// Spider width, metres (default 0.01).
        #[serde(default = "default_gap_m")]
        support_width_m: f64,
        /// Angle of the first spider from +X, degrees (default 0).
        #[serde(default)]
        support_angle_offset_deg: f64,
    },
    /// POPPY's `HexagonAperture`.
    HexagonAperture {
        /// Flat-to-flat size, metres.
        flattoflat_m: f64,
        /// Counter-clockwise rotation, degrees (default 0).
        #[serde(default)]
        rotation_deg: f64,
    },
    /// POPPY's `MultiHexagonAperture`.
    MultiHexagonAperture {
        /// Rings of segments around the centre (0 to 99).
        rings: usize,
        /// Flat-to-flat size of one segment, metres.
        flattoflat_m: f64,
        /// Gap between segments, metres (default 0.01).
        #[serde(default = "default_gap_m")]
        gap_m: f64,
        /// Whether the central segment is present (default false).
        #[serde(default)]
        center: bool,
        /// The segments present (POPPY's numbering; default all).
        #[serde(default)]
        segments: Option<Vec<usize>>,
    },
    /// POPPY's `MultiCircularAperture`.
    MultiCircularAperture {
        /// Rings of segments around the centre (0 to 99).
        rings: usize,
        /// Radius of one segment, metres.
        segment_radius_m: f64,
        /// Gap between segments, metres (default 0.01).
        #[serde(default = "default_gap_m")]
        gap_m: f64,
        /// Whether the central segment is present (default true).
        #[serde(default = "default_true")]
        center: bool,
        /// The segments present (POPPY's numbering; default all).
        #[serde(default)]
        segments: Option<Vec<usize>>,
    },
    /// POPPY's `RectangleAperture`.
    RectangleAperture {
        /// Width along X, metres.
        width_m: f64,
        /// Height along Y, metres.
        height_m: f64,
        /// Counter-clockwise rotation, degrees (default 0).
        #[serde(default)]
        rotation_deg: f64,
    },
    /// POPPY's `SquareAperture`.
    SquareAperture {
        /// Side, metres.
        size_m: f64,
        /// Counter-clockwise rotation, degrees (default 0).
        #[serde(default)]
        rotation_deg: f64,
    },
    /// POPPY's `NgonAperture`.
    NgonAperture {
        /// Number of sides (3 to 10000).
        nsides: usize,
        /// Radius to the vertices, metres.
        radius_m: f64,
        /// Rotation, degrees (default 0; the polygon turns by twice this, as POPPY 1.1.2).
        #[serde(default)]
        rotation_deg: f64,
    },
    /// POPPY's `ZernikeWFE`.
    ZernikeWfe {
        /// Radius of the unit circle, metres.
        radius_m: f64,
        /// Coefficients in Noll order from piston, metres RMS.
        coefficients_m: Vec<f64>,
    },
    /// POPPY's `ThinLens`.
    ThinLens {
        /// Peak-to-valley waves of defocus at the reference wavelength.
        nwaves: f64,
        /// The reference wavelength, metres.
        reference_wavelength_m: f64,
        /// Radius of the lens, metres.
        radius_m: f64,
    },
    /// POPPY's `ParameterizedWFE` (`zernike_basis` or `hexike_basis`).
    ParameterizedWfe {
        /// `"zernike"` or `"hexike"`.
        basis: String,
        /// Radius of the basis' unit circle, metres.
        radius_m: f64,
        /// Coefficients in Noll order from piston, metres RMS.
        coefficients_m: Vec<f64>,
    },
    /// POPPY's `SineWaveWFE`.
    SineWaveWfe {
        /// Cycles per metre.
        spatial_frequency_per_m: f64,
        /// Amplitude, metres.
        amplitude_m: f64,
        /// Phase offset, cycles (default 0).
        #[serde(default)]
        phase_offset_cycles: f64,
        /// Direction of the ripple, degrees counter-clockwise from +X (default 0).
        #[serde(default)]
        rotation_deg: f64,
    },
    /// POPPY's `StatisticalPSDWFE`.
    StatisticalPsdWfe {
        /// Power-law index of the PSD (default 3).
        #[serde(default = "default_psd_index")]
        index: f64,
        /// RMS of the screen over the whole array, metres.
        wfe_rms_m: f64,
        /// Radius scaling the PSD's frequency coordinate, metres.
        radius_m: f64,
        /// Seed of the screen (default: one drawn and shown in the optic's description).
        #[serde(default)]
        seed: Option<u64>,
    },
    /// POPPY's `PowerSpectrumWFE`.
    PowerSpectrumWfe {
        /// `[alpha, beta, outer_scale_m, inner_scale_m, surf_roughness]` per PSD, SI units.
        psd_parameters: Vec<[f64; 5]>,
        /// Weight of each PSD (default 1 each).
        #[serde(default)]
        psd_weight: Option<Vec<f64>>,
        /// Seed of the screen (default: one drawn).
        #[serde(default)]
        seed: Option<u64>,
        /// RMS to scale the screen to inside `radius_m`, metres (default: as drawn).
        #[serde(default)]
        rms_m: Option<f64>,
        /// Radius of the RMS normalisation, metres (needed with `rms_m`).
        #[serde(default)]
        radius_m: Option<f64>,
        /// Double the OPD for a reflection (default false).
        #[serde(default)]
        apply_reflection: bool,
        /// Incidence angle, degrees (default 0; the OPD is divided by its cosine).
        #[serde(default)]
        incident_angle_deg: f64,
    },
    /// POPPY's `KolmogorovWFE`, with subharmonics.
    KolmogorovWfe {
        /// Fried's parameter, metres (or give `cn2` and `dz_m`).
        #[serde(default)]
        r0_m: Option<f64>,
        /// The wavelength of `r0_m`, metres (default 0.5e-6).
        #[serde(default = "default_r0_wavelength_m")]
        r0_wavelength_m: f64,
        /// POPPY's behaviour: `r0_m` at every computed wavelength (default false).
        #[serde(default)]
        r0_at_each_wavelength: bool,
        /// Index-of-refraction structure constant, m^(-2/3).
        #[serde(default)]
        cn2: Option<f64>,
        /// Path length through the turbulence, metres.
        #[serde(default)]
        dz_m: Option<f64>,
        /// "kolmogorov" (default), "von_karman", "tatarski" or "hill".
        #[serde(default = "default_spectrum")]
        spectrum: String,
        /// Inner scale, metres.
        #[serde(default)]
        inner_scale_m: Option<f64>,
        /// Outer scale, metres.
        #[serde(default)]
        outer_scale_m: Option<f64>,
        /// Seed of the screen (default: one drawn).
        #[serde(default)]
        seed: Option<u64>,
    },
    /// POPPY's `ScalarTransmission` (either plane).
    ScalarTransmission {
        /// Amplitude transmission, 0 to 1.
        transmission: f64,
    },
    /// POPPY's `QuadraticLens`.
    QuadraticLens {
        /// Focal length, metres (negative: diverging).
        focal_length_m: f64,
    },
    /// POPPY's `FQPM_FFT_aligner` (a pupil plane).
    FqpmFftAligner {
        /// `"forward"` (before the mask, the default) or `"backward"` (after it).
        #[serde(default = "default_direction")]
        direction: String,
    },
    /// POPPY's `CompoundAnalyticOptic` (either plane).
    CompoundOptic {
        /// The optics, each an `[[optic]]` table without `plane` (they sit in this one).
        optics: Vec<Table>,
        /// `"and"` (product of the transmissions, the default) or `"or"` (union).
        #[serde(default = "default_merge")]
        merge: String,
    },
    /// POPPY's `GaussianAperture`.
    GaussianAperture {
        /// Full width at half maximum of the amplitude, metres (or `w_m`).
        #[serde(default)]
        fwhm_m: Option<f64>,
        /// Beam width parameter w, metres: t = exp(-(r / w)^2) (or `fwhm_m`).
        #[serde(default)]
        w_m: Option<f64>,
    },
    /// POPPY's `KnifeEdge` (either plane).
    KnifeEdge {
        /// Counter-clockwise rotation, degrees (default 0: edge along +Y, x >= 0 opaque).
        #[serde(default)]
        rotation_deg: f64,
    },
    /// POPPY's `ScalarOpticalPathDifference` (either plane).
    ScalarOpticalPathDifference {
        /// The OPD, metres (default 1e-6, as POPPY).
        #[serde(default = "default_scalar_opd_m")]
        opd_m: f64,
    },
    /// POPPY's `CircularPhaseMask`.
    CircularPhaseMask {
        /// Radius, arcsec (default 1).
        #[serde(default = "default_one")]
        radius_arcsec: f64,
        /// Design wavelength, metres (default 1e-6).
        #[serde(default = "default_phase_mask_wavelength_m")]
        wavelength_m: f64,
        /// Delay in waves at the design wavelength (default 0.5).
        #[serde(default = "default_retardance")]
        retardance: f64,
    },
    /// POPPY's `AsymmetricSecondaryObscuration`.
    AsymmetricSecondaryObscuration {
        /// Radius of the obscuration, metres.
        secondary_radius_m: f64,
        /// Angle of each spider, degrees counter-clockwise from +Y (default [0, 90, 240]).
        #[serde(default = "default_support_angles_deg")]
        support_angle_deg: Vec<f64>,
        /// Spider widths, metres: one for all or one per spider (default [0.01]).
        #[serde(default = "default_support_width_m")]
        support_width_m: Vec<f64>,
        /// X of each spider's start, metres: one for all or one per spider (default [0]).
        #[serde(default = "default_zero_list")]
        support_offset_x_m: Vec<f64>,
        /// Y of each spider's start, metres: one for all or one per spider (default [0]).
        #[serde(default = "default_zero_list")]
        support_offset_y_m: Vec<f64>,
    },
    /// POPPY's `KeystoneSegmentedCircularAperture`.
    KeystoneSegmentedCircularAperture {
        /// Radius, metres (default 1).
        #[serde(default = "default_one")]
        radius_m: f64,
        /// Rings of segments (1 to 99; default 2).
        #[serde(default = "default_keystone_rings")]
        rings: usize,
        /// Sections per ring: one for all rings or one per ring (default [4]).
        #[serde(default = "default_keystone_sections")]
        nsections: Vec<usize>,
        /// Radii of the gaps between rings, metres (default radius (k + 1) / rings).
        #[serde(default)]
        gap_radii_m: Option<Vec<f64>>,
        /// Width of the gaps, metres (default 0.01).
        #[serde(default = "default_gap_m")]
        gap_m: f64,
    },
    /// POPPY's `TipTiltStage`.
    TipTiltStage {
        /// The optic on the stage, an `[[optic]]` table without `plane`.
        optic: Table,
        /// Radius of the circle the tilt is defined over, metres (default 1).
        #[serde(default = "default_one")]
        radius_m: f64,
        /// Tip, arcsec (moves the PSF along +X; default 0).
        #[serde(default)]
        tip_arcsec: f64,
        /// Tilt, arcsec (moves the PSF along +Y; default 0).
        #[serde(default)]
        tilt_arcsec: f64,
        /// Double the OPD, for a reflection (default false).
        #[serde(default)]
        include_factor_of_two: bool,
    },
    /// POPPY's `CircularOcculter`.
    CircularOcculter {
        /// Radius, arcsec.
        radius_arcsec: f64,
    },
    /// POPPY's `AnnularFieldStop`.
    AnnularFieldStop {
        /// Inner radius, arcsec (default 0).
        #[serde(default)]
        radius_inner_arcsec: f64,
        /// Outer radius, arcsec (default 1; 0 = no outer edge).
        #[serde(default = "default_outer_arcsec")]
        radius_outer_arcsec: f64,
    },
    /// POPPY's `SquareFieldStop`.
    SquareFieldStop {
        /// Side, arcsec.
        size_arcsec: f64,
        /// Counter-clockwise rotation, degrees (default 0).
        #[serde(default)]
        rotation_deg: f64,
    },
    /// POPPY's `RectangularFieldStop`.
    RectangularFieldStop {
        /// Width along X, arcsec.
        width_arcsec: f64,
        /// Height along Y, arcsec.
        height_arcsec: f64,
        /// Counter-clockwise rotation, degrees (default 0).
        #[serde(default)]
        rotation_deg: f64,
    },
    /// POPPY's `BarOcculter`.
    BarOcculter {
        /// Width, arcsec.
        width_arcsec: f64,
        /// Counter-clockwise rotation, degrees (default 0).
        #[serde(default)]
        rotation_deg: f64,
    },
    /// POPPY's `BandLimitedCoronagraph`.
    BandLimitedCoronagraph {
        /// `"circular"` or `"linear"`.
        profile: String,
        /// The profile's sigma, 1/arcsec.
        sigma: f64,
        /// Accepted and checked (> 0), unused by these profiles, as in POPPY.
        #[serde(default)]
        wavelength_m: Option<f64>,
    },
    /// POPPY's `IdealFQPM`.
    IdealFqpm {
        /// The wavelength of the pi phase step, metres (default 10.65e-6).
        #[serde(default = "default_fqpm_wavelength_m")]
        wavelength_m: f64,
    },
    /// POPPY's `FITSOpticalElement` (either plane).
    FitsOptic {
        /// Transmission image, relative to the scene file.
        #[serde(default)]
        transmission_path: Option<String>,
        /// OPD image, relative to the scene file.
        #[serde(default)]
        opd_path: Option<String>,
        /// `"m"`, `"um"`, `"nm"` or `"rad"` (default: the OPD file's `BUNIT`, else metres).
        #[serde(default)]
        opd_unit: Option<String>,
        /// The slice of 3-D files to use, for both files (default 0, as POPPY).
        #[serde(default)]
        slice: Option<usize>,
        /// The slice of a 3-D transmission file (POPPY's `transmission_index`).
        #[serde(default)]
        transmission_slice: Option<usize>,
        /// The slice of a 3-D OPD file (POPPY's `opd_index`).
        #[serde(default)]
        opd_slice: Option<usize>,
        /// Pixel scale in a pupil plane, metres (default: the files' keywords).
        #[serde(default)]
        pixelscale_m: Option<f64>,
        /// Pixel scale in an image plane, arcsec (default: the files' keywords).
        #[serde(default)]
        pixelscale_arcsec: Option<f64>,
        /// Flip left-right before rotating (default false).
        #[serde(default)]
        flip_x: bool,
        /// Flip up-down before rotating (default false).
        #[serde(default)]
        flip_y: bool,
        /// Counter-clockwise rotation, degrees (default 0).
        #[serde(default)]
        rotation_deg: f64,
    },
    /// POPPY's `ContinuousDeformableMirror`.
    ContinuousDeformableMirror {
        /// `[rows, columns]` of actuators (default `[10, 10]`).
        #[serde(default = "default_dm_shape")]
        dm_shape: Vec<usize>,
        /// Distance between actuators, metres (default `2 radius_m / (rows - 1)`).
        #[serde(default)]
        actuator_spacing_m: Option<f64>,
        /// Radius of the reflective circle, metres (default 1).
        #[serde(default = "default_one")]
        radius_m: f64,
        /// Actuator values, metres, row by row from -y (default flat).
        #[serde(default)]
        surface_m: Option<Vec<Vec<f64>>>,
        /// Actuator values from a FITS image (metres), relative to the scene file.
        #[serde(default)]
        surface_path: Option<String>,
        /// Influence function from a FITS image with a `SAMPLING` keyword (pixels per
        /// actuator spacing), relative to the scene file (default POPPY's Gaussians).
        #[serde(default)]
        influence_path: Option<String>,
        /// Flip the actuator map left-right (default false).
        #[serde(default)]
        flip_x: bool,
        /// Flip the actuator map up-down (default false).
        #[serde(default)]
        flip_y: bool,
        /// The values are surface heights: the OPD is twice them (default false).
        #[serde(default)]
        include_factor_of_two: bool,
    },
    /// POPPY's `HexSegmentedDeformableMirror`.
    HexSegmentedDeformableMirror {
        /// Rings of segments around the centre (0 to 99; default 3).
        #[serde(default = "default_hex_dm_rings")]
        rings: usize,
        /// Flat-to-flat size of one segment, metres (default 1).
        #[serde(default = "default_one")]
        flattoflat_m: f64,
        /// Gap between segments, metres (default 0.01).
        #[serde(default = "default_gap_m")]
        gap_m: f64,
        /// Whether the central segment is present (default true).
        #[serde(default = "default_true")]
        center: bool,
        /// The segments present (POPPY's numbering; default all).
        #[serde(default)]
        segments: Option<Vec<usize>>,
        /// Piston per segment number, metres (index 0 the centre; missing ones 0).
        #[serde(default)]
        piston_m: Vec<f64>,
        /// Tip per segment number, radians (multiplies x from the segment centre).
        #[serde(default)]
        tip_rad: Vec<f64>,
        /// Tilt per segment number, radians (multiplies y from the segment centre).
        #[serde(default)]
        tilt_rad: Vec<f64>,
        /// The values are surface motions: the OPD is twice them (default false).
        #[serde(default)]
        include_factor_of_two: bool,
    },
    /// POPPY's `CircularSegmentedDeformableMirror`.
    CircularSegmentedDeformableMirror {
        /// Rings of segments around the centre (0 to 99; default 1).
        #[serde(default = "default_circular_dm_rings")]
        rings: usize,
        /// Radius of one segment, metres (default 1).
        #[serde(default = "default_one")]
        segment_radius_m: f64,
        /// Gap between segments, metres (default 0.01).
        #[serde(default = "default_gap_m")]
        gap_m: f64,
        /// Whether the central segment is present (default true).
        #[serde(default = "default_true")]
        center: bool,
        /// The segments present (POPPY's numbering; default all).
        #[serde(default)]
        segments: Option<Vec<usize>>,
        /// Piston per segment number, metres (index 0 the centre; missing ones 0).
        #[serde(default)]
        piston_m: Vec<f64>,
        /// Tip per segment number, radians (multiplies x from the segment centre).
        #[serde(default)]
        tip_rad: Vec<f64>,
        /// Tilt per segment number, radians (multiplies y from the segment centre).
        #[serde(default)]
        tilt_rad: Vec<f64>,
        /// The values are surface motions: the OPD is twice them (default false).
        #[serde(default)]
        include_factor_of_two: bool,
    },
}

impl OpticSpec {
    /// The scene kind (`circular_aperture`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            OpticSpec::CircularAperture { .. } => "circular_aperture",
            OpticSpec::SecondaryObscuration { .. } => "secondary_obscuration",
            OpticSpec::HexagonAperture { .. } => "hexagon_aperture",
            OpticSpec::MultiHexagonAperture { .. } => "multi_hexagon_aperture",
            OpticSpec::MultiCircularAperture { .. } => "multi_circular_aperture",
            OpticSpec::RectangleAperture { .. } => "rectangle_aperture",
            OpticSpec::SquareAperture { .. } => "square_aperture",
            OpticSpec::NgonAperture { .. } => "ngon_aperture",
            OpticSpec::ZernikeWfe { .. } => "zernike_wfe",
            OpticSpec::ThinLens { .. } => "thin_lens",
            OpticSpec::ParameterizedWfe { .. } => "parameterized_wfe",
            OpticSpec::SineWaveWfe { .. } => "sine_wave_wfe",
            OpticSpec::StatisticalPsdWfe { .. } => "statistical_psd_wfe",
            OpticSpec::PowerSpectrumWfe { .. } => "power_spectrum_wfe",
            OpticSpec::KolmogorovWfe { .. } => "kolmogorov_wfe",
            OpticSpec::ScalarTransmission { .. } => "scalar_transmission",
            OpticSpec::QuadraticLens { .. } => "quadratic_lens",
            OpticSpec::FqpmFftAligner { .. } => "fqpm_fft_aligner",
            OpticSpec::CompoundOptic { .. } => "compound_optic",
            OpticSpec::GaussianAperture { .. } => "gaussian_aperture",
            OpticSpec::KnifeEdge { .. } => "knife_edge",
            OpticSpec::ScalarOpticalPathDifference { .. } => "scalar_optical_path_difference",
            OpticSpec::CircularPhaseMask { .. } => "circular_phase_mask",
            OpticSpec::AsymmetricSecondaryObscuration { .. } => "asymmetric_secondary_obscuration",
            OpticSpec::KeystoneSegmentedCircularAperture { .. } => {
                "keystone_segmented_circular_aperture"
            }
            OpticSpec::TipTiltStage { .. } => "tip_tilt_stage",
            OpticSpec::CircularOcculter { .. } => "circular_occulter",
            OpticSpec::AnnularFieldStop { .. } => "annular_field_stop",
            OpticSpec::SquareFieldStop { .. } => "square_field_stop",
            OpticSpec::RectangularFieldStop { .. } => "rectangular_field_stop",
            OpticSpec::BarOcculter { .. } => "bar_occulter",
            OpticSpec::BandLimitedCoronagraph { .. } => "band_limited_coronagraph",
            OpticSpec::IdealFqpm { .. } => "ideal_fqpm",
            OpticSpec::FitsOptic { .. } => "fits_optic",
            OpticSpec::ContinuousDeformableMirror { .. } => "continuous_deformable_mirror",
            OpticSpec::HexSegmentedDeformableMirror { .. } => "hex_segmented_deformable_mirror",
            OpticSpec::CircularSegmentedDeformableMirror { .. } => {
                "circular_segmented_deformable_mirror"
            }
        }
    }

    /// Builds the optic for `plane` (`fits_optic` reads its files here).
    ///
    /// # Errors
    ///
    /// [`SceneError`] naming the file, `optic N (kind)` and the problem: the kind does not
    /// belong in `plane`, a value the optic's constructor refuses, an unreadable FITS file.
    pub fn build(&self, plane: OpticPlane, ctx: OpticContext<'_>) -> Result<Plane, SceneError> {
        let kind = self.kind();
        let err = |message: String| SceneError {
            file: ctx.file.map(Path::to_path_buf),
            context: format!("optic {} ({kind})", ctx.index + 1),
            message,
        };
        let wrap = |e: OpticsError| err(WrappedError::from(e).0);
        if let Some(info) = kind_info(kind) {
            info.check_plane(plane).map_err(err)?;
        }
        Ok(match self {
            OpticSpec::CircularAperture { radius_m } => {
                pupil(CircularAperture::new(*radius_m).map_err(wrap)?)
            }
            OpticSpec::SecondaryObscuration {
                secondary_radius_m,
                n_supports,
                support_width_m,
                support_angle_offset_deg,
            } => pupil(
                SecondaryObscuration::new(
                    *secondary_radius_m,
                    *n_supports,
                    *support_width_m,
                    *support_angle_offset_deg,
                )
                .map_err(wrap)?,
            ),
            OpticSpec::HexagonAperture { flattoflat_m, rotation_deg } => {
                pupil(HexagonAperture::new(*flattoflat_m, *rotation_deg).map_err(wrap)?)
            }
            OpticSpec::MultiHexagonAperture { rings, flattoflat_m, gap_m, center, segments } => {
                pupil(
                    MultiHexagonAperture::new(
                        *rings,
                        *flattoflat_m,
                        *gap_m,
                        *center,
                        segments.clone(),
                    )
                    .map_err(wrap)?,
                )
            }
            OpticSpec::MultiCircularAperture {
                rings,
                segment_radius_m,
                gap_m,
                center,
                segments,
            } => pupil(
                MultiCircularAperture::new(
                    *rings,
                    *segment_radius_m,
                    *gap_m,
                    *center,
                    segments.clone(),
                )
                .map_err(wrap)?,
            ),
            OpticSpec::RectangleAperture { width_m, height_m, rotation_deg } => {
                pupil(RectangleAperture::new(*width_m, *height_m, *rotation_deg).map_err(wrap)?)
            }
            OpticSpec::SquareAperture { size_m, rotation_deg } => {
                pupil(SquareAperture::new(*size_m, *rotation_deg).map_err(wrap)?)
            }
            OpticSpec::NgonAperture { nsides, radius_m, rotation_deg } => {
                pupil(NgonAperture::new(*nsides, *radius_m, *rotation_deg).map_err(wrap)?)
            }
            OpticSpec::ZernikeWfe { radius_m, coefficients_m } => {
                pupil(ZernikeWfe::new(*radius_m, coefficients_m.clone()).map_err(wrap)?)
            }
            OpticSpec::ThinLens { nwaves, reference_wavelength_m, radius_m } => {
                pupil(ThinLens::new(*nwaves, *reference_wavelength_m, *radius_m).map_err(wrap)?)
            }
            OpticSpec::QuadraticLens { focal_length_m } => {
                pupil(QuadraticLens::new(*focal_length_m).map_err(wrap)?)
            }
            OpticSpec::ParameterizedWfe { basis, radius_m, coefficients_m } => {
                let basis: WfeBasis = basis.parse().map_err(wrap)?;
                pupil(
                    ParameterizedWfe::new(basis, *radius_m, coefficients_m.clone())
                        .map_err(wrap)?,
                )
            }
            OpticSpec::SineWaveWfe {
                spatial_frequency_per_m,
                amplitude_m,
                phase_offset_cycles,
                rotation_deg,
            } => pupil(
                SineWaveWfe::new(
                    *spatial_frequency_per_m,
                    *amplitude_m,
                    *phase_offset_cycles,
                    *rotation_deg,
                )
                .map_err(wrap)?,
            ),
            OpticSpec::StatisticalPsdWfe { index, wfe_rms_m, radius_m, seed } => {
                let seed = seed.unwrap_or_else(draw_seed);
                pupil(StatisticalPsdWfe::new(*index, *wfe_rms_m, *radius_m, seed).map_err(wrap)?)
            }
            OpticSpec::PowerSpectrumWfe {
                psd_parameters,
                psd_weight,
                seed,
                rms_m,
                radius_m,
                apply_reflection,
                incident_angle_deg,
            } => {
                let rms_radius = match (rms_m, radius_m) {
                    (Some(rms), Some(radius)) => Some((*rms, *radius)),
                    (Some(_), None) => return Err(err("rms_m needs radius_m".into())),
                    _ => None,
                };
                let terms = psd_parameters
                    .iter()
                    .map(|p| PsdTerm {
                        alpha: p[0],
                        beta: p[1],
                        outer_scale: p[2],
                        inner_scale: p[3],
                        surf_roughness: p[4],
                    })
                    .collect();
                pupil(
                    PowerSpectrumWfe::new(
                        terms,
                        psd_weight.clone(),
                        seed.unwrap_or_else(draw_seed),
                        rms_radius,
                        *apply_reflection,
                        *incident_angle_deg,
                    )
                    .map_err(wrap)?,
                )
            }
            OpticSpec::KolmogorovWfe {
                r0_m,
                r0_wavelength_m,
                r0_at_each_wavelength,
                cn2,
                dz_m,
                spectrum,
                inner_scale_m,
                outer_scale_m,
                seed,
            } => {
                let strength = match (r0_m, cn2, dz_m) {
                    (Some(r0), None, None) => TurbulenceStrength::R0 {
                        r0: *r0,
                        wavelength: *r0_wavelength_m,
                        at_each_wavelength: *r0_at_each_wavelength,
                    },
                    (None, Some(cn2), Some(dz)) => TurbulenceStrength::Cn2 { cn2: *cn2, dz: *dz },
                    _ => return Err(err("give r0_m, or cn2 and dz_m (not both)".into())),
                };
                let spectrum: TurbulenceSpectrum = spectrum.parse().map_err(wrap)?;
                pupil(
                    KolmogorovWfe::new(
                        strength,
                        spectrum,
                        *inner_scale_m,
                        *outer_scale_m,
                        seed.unwrap_or_else(draw_seed),
                    )
                    .map_err(wrap)?,
                )
            }
            OpticSpec::ScalarTransmission { transmission } => {
                let t = ScalarTransmission::new(*transmission).map_err(wrap)?;
                match plane {
                    OpticPlane::Pupil => pupil(t),
                    OpticPlane::Image => image(t),
                }
            }
            OpticSpec::FqpmFftAligner { direction } => {
                choice("direction", direction, &["forward", "backward"]).map_err(err)?;
                Plane::FqpmAligner(if direction == "forward" {
                    AlignerDirection::Forward
                } else {
                    AlignerDirection::Backward
                })
            }
            OpticSpec::CompoundOptic { optics, merge } => {
                choice("merge", merge, &["and", "or"]).map_err(err)?;
                let merge = if merge == "and" { Merge::And } else { Merge::Or };
                compound(optics, merge, plane, ctx)?
            }
            OpticSpec::GaussianAperture { fwhm_m, w_m } => {
                gaussian_widths(fwhm_m.is_some(), w_m.is_some()).map_err(err)?;
                pupil(
                    match (fwhm_m, w_m) {
                        (Some(f), _) => GaussianAperture::from_fwhm(*f),
                        (None, Some(w)) => GaussianAperture::from_w(*w),
                        (None, None) => unreachable!("checked above"),
                    }
                    .map_err(wrap)?,
                )
            }
            OpticSpec::KnifeEdge { rotation_deg } => {
                let o = KnifeEdge::new(*rotation_deg).map_err(wrap)?;
                match plane {
                    OpticPlane::Pupil => pupil(o),
                    OpticPlane::Image => image(o),
                }
            }
            OpticSpec::ScalarOpticalPathDifference { opd_m } => {
                let o = ScalarOpticalPathDifference::new(*opd_m).map_err(wrap)?;
                match plane {
                    OpticPlane::Pupil => pupil(o),
                    OpticPlane::Image => image(o),
                }
            }
            OpticSpec::CircularPhaseMask { radius_arcsec, wavelength_m, retardance } => image(
                CircularPhaseMask::new(*radius_arcsec, *wavelength_m, *retardance).map_err(wrap)?,
            ),
            OpticSpec::AsymmetricSecondaryObscuration {
                secondary_radius_m,
                support_angle_deg,
                support_width_m,
                support_offset_x_m,
                support_offset_y_m,
            } => pupil(
                AsymmetricSecondaryObscuration::new(
                    *secondary_radius_m,
                    support_angle_deg,
                    support_width_m,
                    support_offset_x_m,
                    support_offset_y_m,
                )
                .map_err(wrap)?,
            ),
            OpticSpec::KeystoneSegmentedCircularAperture {
                radius_m,
                rings,
                nsections,
                gap_radii_m,
                gap_m,
            } => pupil(
                KeystoneSegmentedCircularAperture::new(
                    *radius_m,
                    *rings,
                    nsections,
                    gap_radii_m.as_deref(),
                    *gap_m,
                )
                .map_err(wrap)?,
            ),
            OpticSpec::TipTiltStage {
                optic,
                radius_m,
                tip_arcsec,
                tilt_arcsec,
                include_factor_of_two,
            } => {
                let here = format!("optic {} (tip_tilt_stage): optic", ctx.index + 1);
                let Plane::Pupil(inner) = read_inner(optic, plane, ctx, &here, "tip_tilt_stage")?
                else {
                    return Err(err("optic is not a pupil optic".into()));
                };
                let arcsec = std::f64::consts::PI / 648_000.0;
                pupil(
                    TipTiltStage::new(
                        inner,
                        *radius_m,
                        tip_arcsec * arcsec,
                        tilt_arcsec * arcsec,
                        *include_factor_of_two,
                    )
                    .map_err(wrap)?,
                )
            }
            OpticSpec::CircularOcculter { radius_arcsec } => {
                image(CircularOcculter::new(*radius_arcsec).map_err(wrap)?)
            }
            OpticSpec::AnnularFieldStop { radius_inner_arcsec, radius_outer_arcsec } => image(
                AnnularFieldStop::new(*radius_inner_arcsec, *radius_outer_arcsec).map_err(wrap)?,
            ),
            OpticSpec::SquareFieldStop { size_arcsec, rotation_deg } => {
                image(RectangularFieldStop::square(*size_arcsec, *rotation_deg).map_err(wrap)?)
            }
            OpticSpec::RectangularFieldStop { width_arcsec, height_arcsec, rotation_deg } => image(
                RectangularFieldStop::new(*width_arcsec, *height_arcsec, *rotation_deg)
                    .map_err(wrap)?,
            ),
            OpticSpec::BarOcculter { width_arcsec, rotation_deg } => {
                image(BarOcculter::new(*width_arcsec, *rotation_deg).map_err(wrap)?)
            }
            OpticSpec::BandLimitedCoronagraph { profile, sigma, wavelength_m } => {
                choice("profile", profile, &["circular", "linear"]).map_err(err)?;
                // The wavelength only matters for POPPY's NIRCam-specific profiles; it is
                // checked and otherwise unused, as in POPPY.
                if let Some(w) = wavelength_m.filter(|w| *w <= 0.0) {
                    return Err(err(format!("wavelength_m = {w} is invalid; must be > 0")));
                }
                let profile = if profile == "circular" {
                    BandLimitedProfile::Circular
                } else {
                    BandLimitedProfile::Linear
                };
                image(BandLimitedCoronagraph::new(profile, *sigma).map_err(wrap)?)
            }
            OpticSpec::IdealFqpm { wavelength_m } => {
                image(IdealFqpm::new(*wavelength_m).map_err(wrap)?)
            }
            OpticSpec::FitsOptic {
                transmission_path,
                opd_path,
                opd_unit,
                slice,
                transmission_slice,
                opd_slice,
                pixelscale_m,
                pixelscale_arcsec,
                flip_x,
                flip_y,
                rotation_deg,
            } => {
                fits_paths_given(transmission_path.is_some(), opd_path.is_some()).map_err(err)?;
                fits_slices_given(
                    slice.is_some(),
                    transmission_slice.is_some(),
                    opd_slice.is_some(),
                )
                .map_err(err)?;
                let (scale, other_scale) = match plane {
                    OpticPlane::Pupil => (pixelscale_m, pixelscale_arcsec),
                    OpticPlane::Image => (pixelscale_arcsec, pixelscale_m),
                };
                fits_scale_key_fits(plane, other_scale.is_some()).map_err(err)?;
                let base = ctx.file.and_then(Path::parent).map(Path::to_path_buf);
                let optic = fits_optic(
                    FitsKeys {
                        transmission_path: transmission_path.as_deref(),
                        opd_path: opd_path.as_deref(),
                        opd_unit: opd_unit.as_deref(),
                        slices: (
                            transmission_slice.or(*slice).unwrap_or(0),
                            opd_slice.or(*slice).unwrap_or(0),
                        ),
                        scale: *scale,
                        orientation: Orientation {
                            flip_x: *flip_x,
                            flip_y: *flip_y,
                            rotation_deg: *rotation_deg,
                        },
                    },
                    plane,
                    base.unwrap_or_default(),
                )
                .map_err(err)?;
                match plane {
                    OpticPlane::Pupil => pupil(optic),
                    OpticPlane::Image => image(optic),
                }
            }
            OpticSpec::ContinuousDeformableMirror {
                dm_shape,
                actuator_spacing_m,
                radius_m,
                surface_m,
                surface_path,
                influence_path,
                flip_x,
                flip_y,
                include_factor_of_two,
            } => {
                let base = ctx.file.and_then(Path::parent).map(Path::to_path_buf);
                let dm = dms::continuous(
                    dms::ContinuousKeys {
                        dm_shape,
                        actuator_spacing_m: *actuator_spacing_m,
                        radius_m: *radius_m,
                        surface_m: surface_m.as_deref(),
                        surface_path: surface_path.as_deref(),
                        influence_path: influence_path.as_deref(),
                        flip_x: *flip_x,
                        flip_y: *flip_y,
                        include_factor_of_two: *include_factor_of_two,
                    },
                    &base.unwrap_or_default(),
                )
                .map_err(err)?;
                pupil(dm)
            }
            OpticSpec::HexSegmentedDeformableMirror {
                rings,
                flattoflat_m,
                gap_m,
                center,
                segments,
                piston_m,
                tip_rad,
                tilt_rad,
                include_factor_of_two,
            } => {
                let dm = SegmentedDeformableMirror::hexagonal(
                    *rings,
                    *flattoflat_m,
                    *gap_m,
                    *center,
                    segments.clone(),
                )
                .map_err(wrap)?;
                pupil(
                    dms::segmented(dm, piston_m, tip_rad, tilt_rad, *include_factor_of_two)
                        .map_err(wrap)?,
                )
            }
            OpticSpec::CircularSegmentedDeformableMirror {
                rings,
                segment_radius_m,
                gap_m,
                center,
                segments,
                piston_m,
                tip_rad,
                tilt_rad,
                include_factor_of_two,
            } => {
                let dm = SegmentedDeformableMirror::circular(
                    *rings,
                    *segment_radius_m,
                    *gap_m,
                    *center,
                    segments.clone(),
                )
                .map_err(wrap)?;
                pupil(
                    dms::segmented(dm, piston_m, tip_rad, tilt_rad, *include_factor_of_two)
                        .map_err(wrap)?,
                )
            }
        })
    }
}

/// Kinds a `compound_optic` cannot hold: POPPY's `CompoundAnalyticOptic` takes analytic
/// optics only (and the aligner and the Gaussian-beam lens are not sampled optics).
const NOT_IN_COMPOUND: &[&str] = &[
    "fits_optic",
    "continuous_deformable_mirror",
    "hex_segmented_deformable_mirror",
    "circular_segmented_deformable_mirror",
    "fqpm_fft_aligner",
    "quadratic_lens",
    "compound_optic",
];

/// One optic held by another (`outer`: a compound or a stage), read as an `[[optic]]` in
/// `plane`, its messages in the context `here` (`optic N (outer): ...`).
fn read_inner(
    t: &Table,
    plane: OpticPlane,
    ctx: OpticContext<'_>,
    here: &str,
    outer: &str,
) -> Result<Plane, SceneError> {
    let err = |message: String| SceneError {
        file: ctx.file.map(Path::to_path_buf),
        context: here.to_string(),
        message,
    };
    if t.contains_key("plane") {
        return Err(err(format!("remove plane: the optics of a {outer} sit in its plane")));
    }
    if let Some(Value::String(kind)) = t.get("kind") {
        // A stage may hold a compound, a compound no compound or stage: nesting stops there.
        let nests = kind == "tip_tilt_stage" || (kind == "compound_optic" && outer == kind);
        if nests || (NOT_IN_COMPOUND.contains(&kind.as_str()) && kind != "compound_optic") {
            return Err(err(format!("{kind} cannot be part of a {outer} (analytic optics only)")));
        }
    }
    let mut t = t.clone();
    let word = if plane == OpticPlane::Pupil { "pupil" } else { "image" };
    t.insert("plane".into(), Value::String(word.into()));
    let parent = format!("optic {}", ctx.index + 1);
    read_optic_in(&t, ctx.index, ctx.file, false).map(|(p, _)| p).map_err(|mut e| {
        let rest = e.context.strip_prefix(&parent).unwrap_or("").to_string();
        e.context = format!("{here}{rest}");
        e
    })
}

/// A `compound_optic`: each table read as an `[[optic]]` in `plane`, its messages naming
/// `optic N (compound_optic): optics J (kind)`.
fn compound(
    tables: &[Table],
    merge: Merge,
    plane: OpticPlane,
    ctx: OpticContext<'_>,
) -> Result<Plane, SceneError> {
    let parent = format!("optic {}", ctx.index + 1);
    let (mut pupils, mut images) = (Vec::new(), Vec::new());
    for (j, t) in tables.iter().enumerate() {
        let here = format!("{parent} (compound_optic): optics {}", j + 1);
        match read_inner(t, plane, ctx, &here, "compound_optic")? {
            Plane::Pupil(o) => pupils.push(o),
            Plane::Image(o) => images.push(o),
            _ => {
                return Err(SceneError {
                    file: ctx.file.map(Path::to_path_buf),
                    context: here,
                    message: "not an optic".into(),
                })
            }
        }
    }
    Ok(match plane {
        OpticPlane::Pupil => Plane::Pupil(Arc::new(Compound::new(pupils, merge))),
        OpticPlane::Image => Plane::Image(Arc::new(Compound::new(images, merge))),
    })
}

fn pupil(optic: impl PupilOptic + 'static) -> Plane {
    Plane::Pupil(Arc::new(optic))
}

fn image(optic: impl ImageOptic + 'static) -> Plane {
    Plane::Image(Arc::new(optic))
}

/// A `fits_optic`'s keys, as given.
struct FitsKeys<'a> {
    transmission_path: Option<&'a str>,
    opd_path: Option<&'a str>,
    opd_unit: Option<&'a str>,
    /// The slices of 3-D transmission and OPD files.
    slices: (usize, usize),
    scale: Option<f64>,
    orientation: Orientation,
}

/// An optic read from FITS files: the paths are relative to `base` (the scene's folder); the
/// pixel scale is the key's, else the files' PIXELSCL / PUPLSCAL (pupil plane) or PIXSCALE /
/// PIXELSCL (image plane) keywords.
fn fits_optic(keys: FitsKeys<'_>, plane: OpticPlane, base: PathBuf) -> Result<ArrayOptic, String> {
    let image_plane = plane == OpticPlane::Image;
    let read = |key: &str, rel: &str, slice: usize| {
        crate::read_image_slice(&base.join(rel), 0, slice).map_err(|e| format!("{key}: {e}"))
    };
    let t =
        keys.transmission_path.map(|p| read("transmission_path", p, keys.slices.0)).transpose()?;
    let o = keys.opd_path.map(|p| read("opd_path", p, keys.slices.1)).transpose()?;
    let unit = match keys
        .opd_unit
        .map(str::to_string)
        .or_else(|| o.as_ref().and_then(|o| o.bunit.clone()))
    {
        None => "m".to_string(),
        Some(u) => u.trim().to_lowercase(),
    };
    let (factor, opd_kind) = match unit.as_str() {
        "m" | "meter" | "meters" | "metre" | "metres" => (1.0, OpdKind::Metres),
        "um" | "micron" | "microns" | "micrometer" => (1e-6, OpdKind::Metres),
        "nm" | "nanometer" | "nanometers" => (1e-9, OpdKind::Metres),
        "rad" | "radian" | "radians" => (1.0, OpdKind::Radians),
        other => {
            return Err(format!(
                "opd_unit = \"{other}\" is invalid; must be \"m\", \"um\", \"nm\" or \"rad\""
            ))
        }
    };
    let keyword_scale = |img: &crate::FitsImage| {
        if image_plane {
            img.pixscale.or(img.pixelscale)
        } else {
            img.pixelscale.or(img.pupilscale)
        }
    };
    let scale = match keys
        .scale
        .or_else(|| t.as_ref().and_then(keyword_scale))
        .or_else(|| o.as_ref().and_then(keyword_scale))
    {
        Some(s) => s,
        None => {
            let words = if image_plane { "PIXSCALE or PIXELSCL" } else { "PIXELSCL or PUPLSCAL" };
            return Err(format!(
                "no pixel scale: give {}, or a {words} keyword in the file",
                fits_scale_key(plane)
            ));
        }
    };
    if scale <= 0.0 {
        return Err(format!("pixel scale {scale} is invalid; must be > 0"));
    }
    let opd = o.map(|o| o.data.mapv(|v| v * factor));
    ArrayOptic::new("fits_optic", t.map(|t| t.data), opd, opd_kind, scale, keys.orientation)
        .map_err(|e| WrappedError::from(e).0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scene;

    fn table(text: &str) -> Table {
        text.parse().expect("test TOML")
    }

    /// `kind = "{name}"` plus the kind's example, as serde reads it.
    fn spec_of(info: &KindInfo, extra: &str) -> Result<OpticSpec, String> {
        let t = table(&format!("kind = \"{}\"\n{}\n{extra}", info.name, info.example));
        Value::Table(t).try_into::<OpticSpec>().map_err(|e| e.message().to_string())
    }

    /// The names in backticks in a serde message, after the first `skip`.
    fn backticked(message: &str, skip: usize) -> Vec<String> {
        message.split('`').skip(1).step_by(2).skip(skip).map(str::to_string).collect()
    }

    #[test]
    fn every_kind_has_a_variant_and_every_variant_a_kind() {
        for info in KINDS {
            let spec = spec_of(info, "").unwrap_or_else(|e| panic!("{}: {e}", info.name));
            assert_eq!(spec.kind(), info.name);
        }
        let e = Value::Table(table("kind = \"no_such_kind\""))
            .try_into::<OpticSpec>()
            .unwrap_err()
            .message()
            .to_string();
        assert_eq!(backticked(&e, 1), OPTIC_KINDS, "serde's variants, in order: {e}");
    }

    #[test]
    fn the_table_lists_every_field_in_reading_order() {
        for info in KINDS {
            let e = spec_of(info, "not_a_key = 1").unwrap_err();
            assert!(e.starts_with("unknown field `not_a_key`"), "{}: {e}", info.name);
            let mut keys = info.keys(OpticPlane::Pupil);
            for k in info.keys(OpticPlane::Image) {
                if !keys.contains(&k) {
                    let at = keys.iter().position(|x| *x == "flip_x").unwrap_or(keys.len());
                    keys.insert(at, k);
                }
            }
            assert_eq!(backticked(&e, 1), keys, "{}: {e}", info.name);
        }
    }

    /// A value of each key's checked type is one its serde field takes (so a key that passes
    /// the checks never meets a serde message).
    #[test]
    fn each_key_type_is_its_fields_type() {
        for info in KINDS {
            for check in info.checks {
                let Check::Key(key) = check else { continue };
                let value = match key.ty {
                    Ty::Number | Ty::Positive => "1.5".to_string(),
                    Ty::Integer(min, _) => min.to_string(),
                    Ty::Bool => "true".into(),
                    Ty::Text => "\"x.fits\"".into(),
                    Ty::Choice(options) => format!("\"{}\"", options[0]),
                    Ty::Numbers => "[1.5, 2]".into(),
                    Ty::Integers(max) => format!("[0, {max}]"),
                    Ty::NumberRows => "[[1.5, 2], [0, 1]]".into(),
                    Ty::FixedRows(len) => format!("[[{}]]", vec!["1.5"; len].join(", ")),
                    Ty::Tables => "[{ kind = \"scalar_transmission\", transmission = 1.0 }]".into(),
                    Ty::Table => "{ kind = \"scalar_transmission\", transmission = 1.0 }".into(),
                };
                let mut t = table(info.example);
                t.insert("kind".into(), Value::String(info.name.into()));
                t.insert(key.name.into(), table(&format!("v = {value}")).remove("v").unwrap());
                let spec = Value::Table(t).try_into::<OpticSpec>();
                assert!(spec.is_ok(), "{} {} = {value}: {spec:?}", info.name, key.name);
            }
        }
    }

    #[test]
    fn required_keys_are_the_fields_without_a_default() {
        for info in KINDS {
            let example = table(info.example);
            for key in info.required_keys() {
                assert!(example.contains_key(key), "{}: the example lacks {key}", info.name);
                let mut t = example.clone();
                t.remove(key);
                t.insert("kind".into(), Value::String(info.name.into()));
                let e = Value::Table(t).try_into::<OpticSpec>().unwrap_err();
                assert_eq!(e.message(), format!("missing field `{key}`"), "{}", info.name);
            }
        }
    }

    #[test]
    fn every_example_builds_in_each_plane_it_allows() {
        let dir = std::env::temp_dir().join(format!("diffract-kinds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ones = ndarray::Array2::<f64>::ones((8, 8));
        crate::write_image(&dir.join("pupil.fits"), &ones, &[("PIXELSCL", 0.1)], true).unwrap();
        let scene = dir.join("s.toml");
        for info in KINDS {
            for (plane, word) in [(OpticPlane::Pupil, "pupil"), (OpticPlane::Image, "image")] {
                let t = table(&format!(
                    "plane = \"{word}\"\nkind = \"{}\"\n{}",
                    info.name, info.example
                ));
                let built = read_optic(&t, 0, Some(&scene));
                assert_eq!(built.is_ok(), info.planes.allows(plane), "{} {word}", info.name);
                if let Ok(p) = built {
                    assert_eq!(p.kind(), info.name);
                }
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Every kind is documented (docs/scene-format.md, in the table of a plane it allows) and
    /// mapped to its POPPY class (docs/poppy-mapping.md); the docs name no other kind.
    #[test]
    fn docs_list_every_kind_with_its_poppy_class() {
        let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/");
        let format = std::fs::read_to_string(format!("{docs}scene-format.md")).unwrap();
        let mapping = std::fs::read_to_string(format!("{docs}poppy-mapping.md")).unwrap();
        let optics = format.split("## `[[optic]]`").nth(1).unwrap();
        let optics = optics.split("## `[detector]`").next().unwrap();
        let mut documented = Vec::new();
        for section in optics.split("\n### ").skip(1) {
            let rule = if section.starts_with("Pupil") {
                PlaneRule::Pupil
            } else if section.starts_with("Image") {
                PlaneRule::Image
            } else {
                PlaneRule::Either
            };
            for row in section.lines().filter(|l| l.starts_with("| `")) {
                let name = row.split('`').nth(1).unwrap();
                let info = kind_info(name).unwrap_or_else(|| panic!("docs name kind {name}"));
                let fits = match rule {
                    PlaneRule::Pupil => info.planes.allows(OpticPlane::Pupil),
                    PlaneRule::Image => info.planes.allows(OpticPlane::Image),
                    PlaneRule::Either => info.planes == PlaneRule::Either,
                };
                assert!(fits, "{name} is documented under the wrong plane");
                documented.push(name);
            }
        }
        for info in KINDS {
            assert!(documented.contains(&info.name), "{} is not in scene-format.md", info.name);
            let row = mapping.lines().find(|l| l.contains(&format!("| `{}` |", info.name)));
            let row = row.unwrap_or_else(|| panic!("{} is not in poppy-mapping.md", info.name));
            assert!(
                row.starts_with(&format!("| `{}(", info.poppy))
                    || row.starts_with(&format!("| `{}` ", info.poppy)),
                "{}: poppy-mapping.md does not map it to {}: {row}",
                info.name,
                info.poppy
            );
        }
    }

    /// The messages of the scene format, as before serde read the optics (each string is
    /// the previous reader's output for the same scene).
    #[test]
    fn messages_keep_the_scene_wording() {
        let err = |optic: &str| {
            let text = format!(
                "npix = 32\n[source]\nwavelengths_m = [1e-6]\n[[optic]]\nplane = \"pupil\"\nkind = \"circular_aperture\"\nradius_m = 1.0\n[[optic]]\n{optic}\n[[optic]]\nplane = \"pupil\"\nkind = \"scalar_transmission\"\ntransmission = 1.0\n[detector]\npixelscale_arcsec = 0.1\nfov_pixels = 8\n"
            );
            Scene::from_toml_str(&text, Some(Path::new("s.toml"))).unwrap_err().to_string()
        };
        let blc = "plane = \"image\"\nkind = \"band_limited_coronagraph\"\n";
        let fits = "kind = \"fits_optic\"\ntransmission_path = \"t.fits\"\n";
        let cases = [
            (format!("{blc}sigma = 1.0"), "optic 2 (band_limited_coronagraph): missing required key profile (\"circular\" or \"linear\")"),
            (format!("{blc}profile = \"foo\"\nsigma = 1.0"), "optic 2 (band_limited_coronagraph): profile = \"foo\" is invalid; must be \"circular\" or \"linear\""),
            (format!("{blc}profile = \"linear\"\nsigma = 1.0\nwavelength_m = -1"), "optic 2 (band_limited_coronagraph): wavelength_m = -1 is invalid; must be > 0"),
            ("plane = \"pupil\"\nkind = \"ngon_aperture\"\nnsides = 2\nradius_m = 1.0".into(), "optic 2 (ngon_aperture): nsides = 2 is invalid; must be an integer from 3 to 10000"),
            ("plane = \"pupil\"\nkind = \"multi_circular_aperture\"\nrings = 1\nsegment_radius_m = 0.3\nsegments = [-1]".into(), "optic 2 (multi_circular_aperture): segments = -1 is invalid; must be an integer from 0 to 1048576"),
            ("plane = \"pupil\"\nkind = \"zernike_wfe\"\nradius_m = 1.0\ncoefficients_m = [1e-8, nan]".into(), "optic 2 (zernike_wfe): coefficients_m = NaN is invalid; must be a finite number"),
            ("plane = \"pupil\"\nkind = \"fqpm_fft_aligner\"\ndirection = \"foo\"".into(), "optic 2 (fqpm_fft_aligner): direction = \"foo\" is invalid; must be \"forward\" or \"backward\""),
            (format!("plane = \"pupil\"\n{fits}pixelscale_arcsec = 0.1"), "optic 2 (fits_optic): pixelscale_arcsec does not apply in a pupil plane; use pixelscale_m"),
            (format!("plane = \"image\"\n{fits}pixelscale_m = 0.1"), "optic 2 (fits_optic): pixelscale_m does not apply in an image plane; use pixelscale_arcsec"),
            ("plane = \"image\"\nkind = \"fits_optic\"\nflip_x = true".into(), "optic 2 (fits_optic): give transmission_path, opd_path or both"),
            ("plane = \"pupil\"\nkind = \"multi_hexagon_aperture\"\nrings = 1\nflattoflat_m = 0.5\ngap_ = 1".into(), "optic 2 (multi_hexagon_aperture): unknown key 'gap_' (did you mean 'gap_m'?); allowed keys: kind, plane, rings, flattoflat_m, gap_m, center, segments, shift_x_m, shift_y_m, rotation_deg, inverse"),
            // A missing required key is named before a later key's wrong type, as the keys
            // are read in order; a constructor's complaint before an unknown key.
            ("plane = \"pupil\"\nkind = \"secondary_obscuration\"\nn_supports = \"str\"".into(), "optic 2 (secondary_obscuration): missing required key secondary_radius_m"),
            ("plane = \"pupil\"\nkind = \"square_aperture\"\nsize_m = -1\nsiz_m = 1".into(), "optic 2 (square_aperture): size_m = -1 is invalid; must be a finite number > 0"),
            ("plane = \"pupil\"\nkind = \"circular_occulter\"\nradius_arcsec = 0.1".into(), "optic 2 (circular_occulter): circular_occulter belongs in an image plane, not a pupil plane"),
            ("plane = \"foo\"\nkind = \"scalar_transmission\"\ntransmission = 0.5".into(), "optic 2 (scalar_transmission): plane = \"foo\" is invalid; must be \"pupil\" or \"image\""),
            ("plane = \"pupil\"\nkind = \"gaussian_aperture\"\nfwhm_m = 1.0\nw_m = 1.0".into(), "optic 2 (gaussian_aperture): give fwhm_m or w_m, not both"),
            ("plane = \"pupil\"\nkind = \"gaussian_aperture\"".into(), "optic 2 (gaussian_aperture): missing required key fwhm_m (or w_m)"),
            ("plane = \"pupil\"\nkind = \"asymmetric_secondary_obscuration\"\nsecondary_radius_m = 0.1\nsupport_width_m = [0.01, 0.02]".into(), "optic 2 (asymmetric_secondary_obscuration): support_width_m = 2 values for 3 supports is invalid; must give one value, or one per support_angle_deg"),
            // A compound's optics are named with it.
            ("plane = \"pupil\"\nkind = \"tip_tilt_stage\"\noptic = { kind = \"tip_tilt_stage\", optic = { kind = \"circular_aperture\", radius_m = 1.0 } }".into(), "optic 2 (tip_tilt_stage): optic: tip_tilt_stage cannot be part of a tip_tilt_stage (analytic optics only)"),
            ("plane = \"pupil\"\nkind = \"compound_optic\"\noptics = [{ kind = \"compound_optic\", optics = [{ kind = \"circular_aperture\", radius_m = 1.0 }] }]".into(), "optic 2 (compound_optic): optics 1: compound_optic cannot be part of a compound_optic (analytic optics only)"),
            ("plane = \"pupil\"\nkind = \"tip_tilt_stage\"\noptic = { kind = \"circular_aperture\", radius = 1.0 }".into(), "optic 2 (tip_tilt_stage): optic (circular_aperture): missing required key radius_m"),
            ("plane = \"pupil\"\nkind = \"tip_tilt_stage\"\noptic = 3".into(), "optic 2 (tip_tilt_stage): optic must be a table (an optic), got an integer"),
            ("plane = \"pupil\"\nkind = \"compound_optic\"\noptics = []".into(), "optic 2 (compound_optic): optics is empty; give at least one optic"),
            ("plane = \"pupil\"\nkind = \"compound_optic\"\noptics = 1".into(), "optic 2 (compound_optic): optics must be a list of tables (optics), got an integer"),
            ("plane = \"pupil\"\nkind = \"compound_optic\"\nmerge = \"xor\"\noptics = [{ kind = \"circular_aperture\", radius_m = 1.0 }]".into(), "optic 2 (compound_optic): merge = \"xor\" is invalid; must be \"and\" or \"or\""),
            ("plane = \"pupil\"\nkind = \"compound_optic\"\noptics = [{ kind = \"circular_aperture\", radius_m = -1.0 }]".into(), "optic 2 (compound_optic): optics 1 (circular_aperture): radius_m = -1 is invalid; must be a finite number > 0"),
            ("plane = \"pupil\"\nkind = \"compound_optic\"\noptics = [{ kind = \"circular_aperture\", radius_m = 1.0 }, { kind = \"fits_optic\", transmission_path = \"t.fits\" }]".into(), "optic 2 (compound_optic): optics 2: fits_optic cannot be part of a compound_optic (analytic optics only)"),
            ("plane = \"image\"\nkind = \"compound_optic\"\noptics = [{ plane = \"image\", kind = \"circular_occulter\", radius_arcsec = 1.0 }]".into(), "optic 2 (compound_optic): optics 1: remove plane: the optics of a compound_optic sit in its plane"),
            ("plane = \"image\"\nkind = \"compound_optic\"\noptics = [{ kind = \"circular_aperture\", radius_m = 1.0 }]".into(), "optic 2 (compound_optic): optics 1 (circular_aperture): circular_aperture belongs in a pupil plane, not an image plane"),
        ];
        for (optic, message) in cases {
            assert_eq!(err(&optic), format!("s.toml: {message}"), "{optic}");
        }
    }

    /// Wavefront-error kinds: bad values give one line naming the optic and key, and a
    /// missing seed is drawn and shown in the optic's description.
    #[test]
    fn wfe_kinds_refuse_bad_values_and_show_their_seed() {
        let scene = |optic: &str| {
            let text = format!(
                "npix = 32\n[source]\nwavelengths_m = [1e-6]\n[[optic]]\nplane = \"pupil\"\nkind = \"circular_aperture\"\nradius_m = 1.0\n[[optic]]\nplane = \"pupil\"\n{optic}\n[detector]\npixelscale_arcsec = 0.1\nfov_pixels = 8\n"
            );
            Scene::from_toml_str(&text, Some(Path::new("s.toml")))
        };
        let err = |optic: &str| scene(optic).unwrap_err().to_string();
        let k = "kind = \"kolmogorov_wfe\"\n";
        let cases = [
            (format!("{k}r0_m = -0.1"), "optic 2 (kolmogorov_wfe): r0_m = -0.1 is invalid; must be a finite number > 0"),
            (format!("{k}r0_m = 0.1\ncn2 = 1e-14\ndz_m = 100"), "optic 2 (kolmogorov_wfe): give r0_m, or cn2 and dz_m (not both)"),
            (format!("{k}r0_m = 0.1\nspectrum = \"von_karman\""), "optic 2 (kolmogorov_wfe): outer_scale_m = none is invalid; the von_karman spectrum needs an outer scale"),
            (format!("{k}r0_m = 0.1\nspectrum = \"gauss\""), "optic 2 (kolmogorov_wfe): spectrum = \"gauss\" is invalid; must be \"kolmogorov\", \"von_karman\", \"tatarski\" or \"hill\""),
            ("kind = \"statistical_psd_wfe\"\nwfe_rms_m = -1e-9\nradius_m = 1.0".into(), "optic 2 (statistical_psd_wfe): wfe_rms_m = -0.000000001 is invalid; must be >= 0"),
            ("kind = \"parameterized_wfe\"\nbasis = \"legendre\"\nradius_m = 1.0\ncoefficients_m = [0.0]".into(), "optic 2 (parameterized_wfe): basis = \"legendre\" is invalid; must be \"zernike\" or \"hexike\""),
            ("kind = \"power_spectrum_wfe\"\npsd_parameters = [[2.5, 1e-18]]".into(), "optic 2 (power_spectrum_wfe): psd_parameters must be a list of lists of 5 numbers"),
            ("kind = \"power_spectrum_wfe\"\npsd_parameters = [[2.5, 1e-18, 0.5, 0.0, 0.0]]\nrms_m = 1e-8".into(), "optic 2 (power_spectrum_wfe): rms_m needs radius_m"),
        ];
        for (optic, message) in cases {
            assert_eq!(err(&optic), format!("s.toml: {message}"), "{optic}");
        }
        let described = |optic: &str| {
            let s = scene(optic).unwrap();
            match &s.system.planes()[1] {
                Plane::Pupil(o) => o.describe(),
                _ => unreachable!("the second optic is in a pupil plane"),
            }
        };
        assert!(described(&format!("{k}r0_m = 0.1\nseed = 77")).ends_with("seed 77"));
        let drawn = described(&format!("{k}r0_m = 0.1"));
        let seed: u64 = drawn.rsplit("seed ").next().unwrap().parse().unwrap();
        assert!(seed < 1 << 53, "{drawn}");
    }
}
