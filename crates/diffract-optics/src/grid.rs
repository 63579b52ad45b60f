//! The sampling of the entrance pupil.

use crate::error::positive;
use crate::{Frame, OpticsError};
use ndarray::Array2;
use rayon::prelude::*;

/// Grids with at least this many samples are filled by rows in parallel.
pub(crate) const PARALLEL_SAMPLES: usize = 1 << 16;

/// A square pupil sampling: `npix` samples across a width of `diameter` metres.
///
/// Sample `i` sits at `x_i = pixelscale * (i - c)` with the optical axis at index
/// `c = (npix - 1) / 2`: pixel centres, symmetric about the array centre, as POPPY's pupil
/// coordinates. A Fresnel plane puts the axis on pixel `npix / 2` instead, as POPPY's
/// FFT-centred Fresnel coordinates ([`PupilGrid::fresnel`]). Row index is y, column index
/// is x.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PupilGrid {
    npix: usize,
    diameter: f64,
    pixelscale: f64,
    centre: f64,
    frame: Option<Frame>,
}

/// Largest pupil array accepted: 16384 pixels across (a 4 GiB complex field).
pub const MAX_PUPIL_NPIX: usize = 16384;

impl PupilGrid {
    /// A grid of `npix` x `npix` samples spanning `diameter_m` metres.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] when `npix` is 0 or above [`MAX_PUPIL_NPIX`], or the
    /// diameter is not a finite positive number.
    pub fn new(npix: usize, diameter_m: f64) -> Result<Self, OpticsError> {
        if npix == 0 || npix > MAX_PUPIL_NPIX {
            return Err(OpticsError::invalid(
                "pupil grid",
                "npix",
                npix,
                "must be between 1 and 16384",
            ));
        }
        let diameter = positive("pupil grid", "pupil_diameter_m", diameter_m)?;
        Ok(PupilGrid {
            npix,
            diameter,
            pixelscale: diameter / npix as f64,
            centre: (npix as f64 - 1.0) / 2.0,
            frame: None,
        })
    }

    /// A grid of `npix` samples spaced `pixelscale_m` metres (for zero-padded pupils, whose
    /// spacing is fixed by the unpadded pupil).
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] as [`PupilGrid::new`].
    pub fn with_pixelscale(npix: usize, pixelscale_m: f64) -> Result<Self, OpticsError> {
        if npix == 0 || npix > 4 * MAX_PUPIL_NPIX {
            return Err(OpticsError::invalid(
                "pupil grid",
                "npix",
                npix,
                "must be between 1 and 65536",
            ));
        }
        let pixelscale = positive("pupil grid", "pixelscale", pixelscale_m)?;
        Ok(PupilGrid {
            npix,
            diameter: pixelscale * npix as f64,
            pixelscale,
            centre: (npix as f64 - 1.0) / 2.0,
            frame: None,
        })
    }

    /// A Fresnel plane's grid: `npix` samples spaced `pixelscale_m` metres with the optical
    /// axis at index `npix / 2` (a pixel centre for even `npix`, between two pixels for odd),
    /// as POPPY's `FresnelWavefront.coordinates`: FFT-centred, so a binary edge at a whole
    /// number of pixels from the axis falls on pixel centres.
    ///
    /// # Errors
    ///
    /// [`OpticsError::Invalid`] as [`PupilGrid::with_pixelscale`].
    pub fn fresnel(npix: usize, pixelscale_m: f64) -> Result<Self, OpticsError> {
        let mut g = Self::with_pixelscale(npix, pixelscale_m)?;
        g.centre = npix as f64 / 2.0;
        Ok(g)
    }

    /// Index (row and column) of the optical axis.
    pub fn centre(&self) -> f64 {
        self.centre
    }

    /// Samples across the array.
    pub fn npix(&self) -> usize {
        self.npix
    }

    /// Width of the array in metres.
    pub fn diameter(&self) -> f64 {
        self.diameter
    }

    /// Metres per pixel.
    pub fn pixelscale(&self) -> f64 {
        self.pixelscale
    }

    /// Coordinate of sample `i` along either axis, in metres.
    #[inline]
    pub fn coord(&self, i: usize) -> f64 {
        self.pixelscale * (i as f64 - self.centre)
    }

    /// The coordinates of all samples along one axis, in metres.
    pub fn coords(&self) -> Vec<f64> {
        (0..self.npix).map(|i| self.coord(i)).collect()
    }

    /// An array of this grid's shape with `f(y, x)` at every sample (metres), in the optic's
    /// coordinates when the grid is [placed](PupilGrid::placed). Rows are filled in parallel
    /// on large grids (each value depends on its sample alone: the same array for any
    /// number of threads).
    pub fn map(&self, f: impl Fn(f64, f64) -> f64 + Sync) -> Array2<f64> {
        let mut out = Array2::zeros((self.npix, self.npix));
        self.update(&mut out, |y, x, v| *v = f(y, x));
        out
    }

    /// Calls `f(y, x, value)` on every sample of `a` (an array of this grid's shape, in
    /// standard layout), with its coordinates as [`PupilGrid::map`] gives them: the same
    /// values, by rows in parallel on large grids, written in place.
    ///
    /// # Panics
    ///
    /// When `a` is not `npix` x `npix` in standard layout.
    pub fn update(&self, a: &mut Array2<f64>, f: impl Fn(f64, f64, &mut f64) + Sync) {
        let c = self.coords();
        let frame = self.frame;
        self.rows_with(
            a,
            || (),
            |_, i, row| {
                for (v, &x) in row.iter_mut().zip(&c) {
                    match frame {
                        None => f(c[i], x, v),
                        Some(frame) => {
                            let (y, x) = frame.apply(c[i], x);
                            f(y, x, v)
                        }
                    }
                }
            },
        );
    }

    /// Calls `f(work, i, row)` on each row `i` of `a` (an array of this grid's shape, in
    /// standard layout), by rows in parallel on large grids; `work` is scratch that `init`
    /// makes for each piece of the rows that a thread takes.
    ///
    /// # Panics
    ///
    /// When `a` is not `npix` x `npix` in standard layout.
    pub fn rows_with<W>(
        &self,
        a: &mut Array2<f64>,
        init: impl Fn() -> W + Sync + Send,
        f: impl Fn(&mut W, usize, &mut [f64]) + Sync + Send,
    ) {
        let n = self.npix;
        assert_eq!(a.dim(), (n, n), "an array of the grid's shape");
        let values = a.as_slice_mut().expect("an array in standard layout");
        if n * n >= PARALLEL_SAMPLES {
            values.par_chunks_mut(n).enumerate().for_each_init(init, |w, (i, row)| f(w, i, row));
        } else {
            let mut w = init();
            values.chunks_mut(n).enumerate().for_each(|(i, row)| f(&mut w, i, row));
        }
    }

    /// The same grid seen from an optic placed by `frame` (shifted, then rotated: POPPY's
    /// `get_coordinates`): [`PupilGrid::map`] and the gray discs of
    /// [`geometry`](crate::geometry) then work in the optic's coordinates. [`PupilGrid::coords`]
    /// stay the plane's. A grid placed again takes the new frame in place of the old.
    pub fn placed(&self, frame: Frame) -> PupilGrid {
        PupilGrid { frame: Some(frame), ..*self }
    }

    /// The frame of a [placed](PupilGrid::placed) grid.
    pub fn frame(&self) -> Option<Frame> {
        self.frame
    }
}
