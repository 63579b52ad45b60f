//! Control loops: after a full computation the plan keeps, per wavelength, the field
//! entering the detector's MFT and the detector field. A deformable-mirror update that
//! changes the OPD of the step feeding the detector only near the poked actuators is then
//! applied to the kept fields by itself: the field in the changed window is multiplied by
//! `exp(2 pi i dOPD / lambda)` and the window's difference is transformed alone
//! ([`MftPlan::apply_window`]) and added to the detector field, since the transform is
//! linear. The result equals a full computation up to rounding (a test holds it within
//! 1e-12 relative L2 over a loop); the kept fields are recomputed in full every
//! [`REBASE_AFTER`] changes, so rounding cannot build up.

use super::PsfPlan;
use crate::steps::{DetectorMft, PupilOptics, RecordPlane};
use crate::system::Normalization;
use crate::{ComputeOptions, Precision, PropagationError, Psf, Source};
use diffract_parallel::Par;
use diffract_transforms::{GemmBackend, MftPlan};
use ndarray::{s, Array2, ArrayView2};
use num_complex::{Complex32, Complex64};
use std::ops::Range;

/// Changes applied to the kept fields before they are recomputed in full.
pub(crate) const REBASE_AFTER: usize = 64;

/// OPD changes smaller than this fraction of the largest one are dropped from the changed
/// window (their phase is below rounding for any OPD a mirror makes).
const NEGLIGIBLE: f64 = 1e-17;

/// What the plan keeps between the computations of a control loop.
#[derive(Debug, Default)]
pub(crate) struct LoopState {
    /// The fields of the last full computation, when the plan is a loop's.
    kept: Option<KeptFields>,
    /// The loop step's OPD changes since the kept fields were made.
    pending: Vec<OpdChange>,
    /// A step of the user's was inserted: the plan's steps are not all known, and every
    /// computation is full.
    pub(crate) off: bool,
    /// A spare OPD array, reused for the OPD before an update.
    spare: Option<Array2<f64>>,
}

/// The fields of one full computation.
#[derive(Debug)]
struct KeptFields {
    key: LoopKey,
    /// Per wavelength: the field entering the detector's MFT (npix x npix), the detector
    /// field, and the size of the pupil's support (the MFT's input).
    fields: Vec<(Array2<Complex64>, Array2<Complex64>, usize)>,
    /// Changes applied since they were computed in full.
    changes: usize,
}

/// What a computation's fields depend on besides the optics.
#[derive(Debug, PartialEq)]
struct LoopKey {
    wavelengths: Vec<u64>,
    weights: Vec<u64>,
    tilt: (u64, u64),
    precision: Precision,
    gemm: GemmBackend,
}

impl LoopKey {
    fn new(source: &Source, plan_precision: Precision, gemm: GemmBackend) -> Self {
        let (tx, ty) = source.tilt_arcsec();
        LoopKey {
            wavelengths: source.wavelengths().iter().map(|w| w.to_bits()).collect(),
            weights: source.normalized_weights().iter().map(|w| w.to_bits()).collect(),
            tilt: (tx.to_bits(), ty.to_bits()),
            precision: plan_precision,
            gemm,
        }
    }
}

/// An OPD change, metres, over the window of the pupil array starting at `origin`.
#[derive(Debug)]
struct OpdChange {
    origin: (usize, usize),
    delta: Array2<f64>,
}

impl LoopState {
    /// Forgets the kept fields and the changes since (the optics changed otherwise).
    pub(crate) fn reset(&mut self) {
        self.kept = None;
        self.pending.clear();
    }

    /// A copy of `opd` in a reused array.
    pub(crate) fn copy_opd(&mut self, opd: &Array2<f64>) -> Array2<f64> {
        let mut copy = match self.spare.take() {
            Some(a) if a.dim() == opd.dim() => a,
            _ => Array2::zeros(opd.dim()),
        };
        copy.assign(opd);
        copy
    }

    /// Records the change from `old` to `new`: the smallest window holding every
    /// non-negligible difference. An unchanged OPD records nothing.
    pub(crate) fn push_change(&mut self, old: Array2<f64>, new: &Array2<f64>) {
        if old.dim() != new.dim() {
            self.reset();
            return;
        }
        let (Some(a), Some(b)) = (old.as_slice(), new.as_slice()) else {
            self.reset();
            return;
        };
        // Each row's largest change (eight running maxima, so the compiler vectorises it).
        let cols = old.ncols();
        let row_largest: Vec<f64> = a
            .chunks_exact(cols)
            .zip(b.chunks_exact(cols))
            .map(|(ra, rb)| {
                let mut lanes = [0.0f64; 8];
                for (ca, cb) in ra.chunks(8).zip(rb.chunks(8)) {
                    for ((l, x), y) in lanes.iter_mut().zip(ca).zip(cb) {
                        let d = (y - x).abs();
                        // A NaN is kept, and refused below.
                        *l = if d > *l || d.is_nan() { d } else { *l };
                    }
                }
                lanes.iter().fold(0.0, |m: f64, &l| if l > m || l.is_nan() { l } else { m })
            })
            .collect();
        let largest =
            row_largest.iter().fold(0.0, |m: f64, &l| if l > m || l.is_nan() { l } else { m });
        if !largest.is_finite() {
            self.reset();
        } else if largest > 0.0 {
            let floor = largest * NEGLIGIBLE;
            let (mut r, mut c) = ((usize::MAX, 0), (usize::MAX, 0));
            for (i, _) in row_largest.iter().enumerate().filter(|(_, &l)| l > floor) {
                let (ra, rb) = (&a[i * cols..(i + 1) * cols], &b[i * cols..(i + 1) * cols]);
                let changed = |(x, y): (&f64, &f64)| (y - x).abs() > floor;
                let first = ra.iter().zip(rb).position(changed).unwrap_or(0);
                let last = cols - ra.iter().zip(rb).rev().position(changed).unwrap_or(0);
                r = (r.0.min(i), i + 1);
                c = (c.0.min(first), c.1.max(last));
            }
            let window = s![r.0..r.1, c.0..c.1];
            let delta = &new.slice(window) - &old.slice(window);
            self.pending.push(OpdChange { origin: (r.0, c.0), delta });
        }
        self.spare = Some(old);
    }
}

impl PsfPlan {
    /// The planes of the pupil-optics step that feeds the detector's MFT directly, when the
    /// plan can follow a loop's changes there: a detector without "last" normalisation,
    /// no step of the user's, the step's optics on the unpadded pupil.
    pub(crate) fn loop_planes(&self) -> Option<Range<usize>> {
        let state = self.loop_state.lock().unwrap_or_else(|e| e.into_inner());
        if state.off || self.detector.is_none() || self.normalization == Normalization::Last {
            return None;
        }
        let (last, rest) = self.steps.split_last()?;
        if last.name() != DetectorMft::NAME {
            return None;
        }
        let step = rest.iter().rev().find(|s| s.name() != RecordPlane::NAME)?;
        if step.name() != PupilOptics::NAME {
            return None;
        }
        let planes = step.planes()?;
        let group = self.pupil_groups.iter().find(|g| g.planes == planes)?;
        (!group.padded && !group.cut).then_some(planes)
    }

    /// Whether a full computation should keep its fields: a mirror has been updated in the
    /// step feeding the detector.
    pub(crate) fn keeps_fields(&self) -> bool {
        self.loop_planes().is_some_and(|planes| {
            self.live.iter().any(|l| l.dm.is_some() && planes.contains(&l.index))
        })
    }

    /// Keeps the fields of a full computation of `source` (each wavelength's field entering
    /// the detector's MFT and the detector field).
    pub(crate) fn keep_fields(
        &self,
        source: &Source,
        opts: &ComputeOptions,
        gemm: GemmBackend,
        fields: Vec<(Array2<Complex64>, Array2<Complex64>)>,
    ) {
        let fields = fields
            .into_iter()
            .map(|(pupil, detector)| {
                let m = crate::steps::support_size(&pupil);
                (pupil, detector, m)
            })
            .collect();
        let mut state = self.loop_state.lock().unwrap_or_else(|e| e.into_inner());
        state.pending.clear();
        state.kept = Some(KeptFields {
            key: LoopKey::new(source, self.precision_for(opts.precision), gemm),
            fields,
            changes: 0,
        });
    }

    /// The PSF of `source` from the kept fields and the changes since, or `None` when a full
    /// computation is needed (nothing kept, another source or options, too many changes
    /// since the last full one, or changes too large to be cheaper).
    pub(crate) fn loop_compute(
        &self,
        source: &Source,
        opts: &ComputeOptions,
        gemm: GemmBackend,
    ) -> Result<Option<Psf>, PropagationError> {
        let mut guard = self.loop_state.lock().unwrap_or_else(|e| e.into_inner());
        let state = &mut *guard;
        let Some(kept) = state.kept.as_mut() else { return Ok(None) };
        let Some(detector) = self.final_mft.as_ref() else { return Ok(None) };
        let n = self.grid.npix();
        let area: usize = state.pending.iter().map(|c| c.delta.len()).sum();
        if kept.key != LoopKey::new(source, self.precision_for(opts.precision), gemm)
            || kept.changes + state.pending.len() > REBASE_AFTER
            || 2 * area > n * n
        {
            state.reset();
            return Ok(None);
        }
        let fft = opts.fft.ensure_compiled()?;
        let schedule = self.schedule(source.wavelengths().len(), opts)?;
        // The window's products are small: on one thread they run faster than shared
        // between two (1250 against 1000 PSF/s in the dm_loop example).
        let par = Par::Seq;
        let mut images = Vec::with_capacity(kept.fields.len());
        for ((pupil, field, m), &wavelength) in kept.fields.iter_mut().zip(source.wavelengths()) {
            for change in &state.pending {
                let plan = Change { detector, wavelength, support: *m, gemm, par };
                plan.apply(self, change, pupil, field, self.precision_for(opts.precision))?;
            }
            images.push(field.mapv(|z| z.norm_sqr()));
        }
        kept.changes += state.pending.len();
        state.pending.clear();
        let mut total = None;
        for (img, w) in images.into_iter().zip(source.normalized_weights()) {
            super::add_weighted(&mut total, img, w);
        }
        Ok(Some(self.assemble(total, source, opts, gemm, fft, schedule.workers)))
    }
}

/// One change applied at one wavelength.
struct Change<'a> {
    detector: &'a DetectorMft,
    wavelength: f64,
    support: usize,
    gemm: GemmBackend,
    par: Par,
}

impl Change<'_> {
    /// Multiplies the kept pupil field in the change's window by the phase change and adds
    /// the transform of the difference to the detector field.
    fn apply(
        &self,
        plan: &PsfPlan,
        change: &OpdChange,
        pupil: &mut Array2<Complex64>,
        field: &mut Array2<Complex64>,
        precision: Precision,
    ) -> Result<(), PropagationError> {
        let n = pupil.nrows();
        let m = self.support;
        let o = (n - m) / 2;
        let (h, w) = change.delta.dim();
        // The window within the support (the field is 0 outside it, and stays 0).
        let rows = change.origin.0.max(o)..(change.origin.0 + h).min(o + m);
        let cols = change.origin.1.max(o)..(change.origin.1 + w).min(o + m);
        if rows.is_empty() || cols.is_empty() {
            return Ok(());
        }
        let k = 2.0 * std::f64::consts::PI / self.wavelength;
        let zero = Complex64::new(0.0, 0.0);
        let mut diff = Array2::zeros((rows.len(), cols.len()));
        let dc = cols.start - change.origin.1;
        for (i, mut d) in diff.rows_mut().into_iter().enumerate() {
            let r = rows.start + i;
            let delta = change.delta.row(r - change.origin.0);
            let delta = &delta.as_slice().expect("owned rows")[dc..dc + cols.len()];
            let mut e = pupil.slice_mut(s![r, cols.clone()]);
            let e = e.as_slice_mut().expect("a row of a standard array");
            let d = d.as_slice_mut().expect("owned rows");
            for ((e, d), &delta) in e.iter_mut().zip(d).zip(delta) {
                if *e != zero {
                    let (sin, cos) = (k * delta).sin_cos();
                    let new = *e * Complex64::new(cos, sin);
                    *d = new - *e;
                    *e = new;
                }
            }
        }
        let geometry = self.detector.geometry(m, self.wavelength);
        let origin = (rows.start - o, cols.start - o);
        if precision == Precision::F32 {
            let mft = plan.mfts32.get(&geometry)?;
            let diff = diff.mapv(|z| Complex32::new(z.re as f32, z.im as f32));
            let out = window_transform(&mft, diff.view(), origin, self.gemm, self.par)?;
            field.zip_mut_with(&out, |f, z| *f += Complex64::new(z.re.into(), z.im.into()));
        } else {
            let mft = plan.mfts.get(&geometry)?;
            let out = window_transform(&mft, diff.view(), origin, self.gemm, self.par)?;
            *field += &out;
        }
        Ok(())
    }
}

fn window_transform<T: diffract_transforms::Real>(
    mft: &MftPlan<T>,
    window: ArrayView2<'_, num_complex::Complex<T>>,
    origin: (usize, usize),
    gemm: GemmBackend,
    par: Par,
) -> Result<Array2<num_complex::Complex<T>>, PropagationError> {
    let mut out = Array2::zeros(mft.geometry().output);
    mft.apply_window(window, origin, out.view_mut(), gemm, par)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Detector, OpticalSystem};
    use diffract_optics::{CircularAperture, ContinuousDeformableMirror};

    fn rel_l2(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
        let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        (d / b.iter().map(|y| y * y).sum::<f64>()).sqrt()
    }

    fn system(dm: &ContinuousDeformableMirror, normalization: Normalization) -> OpticalSystem {
        let mut s = OpticalSystem::new("loop", 128, 2);
        s.add_pupil(CircularAperture::new(1.0).unwrap());
        s.add_pupil(dm.clone());
        s.set_detector(
            Detector::with_fov_pixels(0.1, 20).unwrap().with_offset_pixels(1.5, -2.0).unwrap(),
        );
        s.set_normalization(normalization);
        s
    }

    fn changes(plan: &PsfPlan) -> Option<usize> {
        plan.loop_state.lock().unwrap().kept.as_ref().map(|k| k.changes)
    }

    /// Reference: a new plan of the updated system, at every step of a loop longer than
    /// [`REBASE_AFTER`] (one or two pokes per PSF, sometimes two updates between PSFs; two
    /// wavelengths and an off-axis source), in both precisions. Tolerance 1e-12 relative L2
    /// in f64 (rounding; the PSFs of a full computation are followed); 1e-6 in f32 against a
    /// new plan in f32 (each differs from f64 by ~1e-7). The loop's updates must actually
    /// be followed by the change alone (the count of changes since the last full
    /// computation grows), at most `REBASE_AFTER` in a row.
    #[test]
    fn a_loop_follows_a_new_plan() {
        let source = Source::new(vec![0.9e-6, 1.2e-6], Some(vec![1.0, 2.0]))
            .unwrap()
            .with_offset(0.03, 30.0)
            .unwrap();
        for precision in [Precision::F64, Precision::F32] {
            let opts = ComputeOptions::default().with_precision(precision);
            let tolerance = if precision == Precision::F64 { 1e-12 } else { 1e-6 };
            let mut dm = ContinuousDeformableMirror::new(16, 16, None, 0.5).unwrap();
            let mut plan = system(&dm, Normalization::First).plan().unwrap();
            let mut seen = 0;
            let mut state = 11u64;
            let mut draw = move || {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                state >> 33
            };
            for step in 0..REBASE_AFTER + 12 {
                for _ in 0..1 + step % 3 / 2 {
                    let (r, c) = (draw() as usize % 16, draw() as usize % 16);
                    dm.set_actuator(r, c, (draw() as f64 / (1u64 << 31) as f64 - 0.5) * 4e-7)
                        .unwrap();
                    plan.update_dm(1, &dm).unwrap();
                }
                let got = plan.compute(&source, &opts).unwrap();
                seen = seen.max(changes(&plan).unwrap_or(0));
                if step % 7 == 0 || step > REBASE_AFTER {
                    let want = system(&dm, Normalization::First)
                        .plan()
                        .unwrap()
                        .compute(&source, &opts)
                        .unwrap();
                    let err = rel_l2(&got.image, &want.image);
                    assert!(err <= tolerance, "{precision:?} step {step}: {err:e}");
                }
            }
            assert!(
                seen > REBASE_AFTER / 2 && seen <= REBASE_AFTER,
                "{precision:?}: {seen} changes followed in a row"
            );
        }
    }

    /// Plans whose updates cannot be followed by the change alone compute in full: "last"
    /// normalisation, and a plan with a step of the user's. Reference: a new plan, bit for
    /// bit.
    #[test]
    fn other_plans_compute_in_full() {
        let source = Source::monochromatic(1e-6).unwrap();
        let opts = ComputeOptions::default();
        let mut dm = ContinuousDeformableMirror::new(10, 10, None, 1.0).unwrap();
        let mut last = system(&dm, Normalization::Last).plan().unwrap();
        let mut stepped = system(&dm, Normalization::First).plan().unwrap();
        let record = RecordPlane { planes: 1..2, kind: "none", image_plane: false };
        stepped.insert_step(1, Box::new(record)).unwrap();
        for k in 0..4 {
            dm.set_actuator(k, 2 * k, 5e-8).unwrap();
            for (normalization, plan) in
                [(Normalization::Last, &mut last), (Normalization::First, &mut stepped)]
            {
                plan.update_dm(1, &dm).unwrap();
                let got = plan.compute(&source, &opts).unwrap();
                assert!(changes(plan).is_none());
                let want = system(&dm, normalization).plan().unwrap();
                assert_eq!(got.image, want.compute(&source, &opts).unwrap().image);
            }
        }
    }
}
