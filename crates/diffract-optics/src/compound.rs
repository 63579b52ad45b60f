//! Several optics in one plane: POPPY's `CompoundAnalyticOptic`.

use crate::{ImageGrid, ImageOptic, PupilGrid, PupilOptic};
use ndarray::{Array2, Zip};
use std::sync::Arc;

/// How a [`Compound`] merges its optics' transmissions (POPPY's `mergemode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// `t = t1 t2 ...`; the OPD is the sum of the OPDs.
    And,
    /// `t = t1 + t2 - t1 t2` in turn; each optic adds its OPD where its own transmission is
    /// not zero.
    Or,
}

/// Optics merged into one plane: POPPY's `CompoundAnalyticOptic(opticslist, mergemode)`.
#[derive(Debug)]
pub struct Compound<O: ?Sized> {
    optics: Vec<Arc<O>>,
    merge: Merge,
}

impl<O: ?Sized> Compound<O> {
    /// `optics` merged by `merge`.
    pub fn new(optics: Vec<Arc<O>>, merge: Merge) -> Self {
        Compound { optics, merge }
    }

    /// The merge mode.
    pub fn merge(&self) -> Merge {
        self.merge
    }
}

/// The merged transmission, with POPPY's arithmetic (`None`: clear).
fn merge_transmission(
    merge: Merge,
    shape: (usize, usize),
    each: impl Iterator<Item = Option<Array2<f64>>>,
) -> Option<Array2<f64>> {
    match merge {
        Merge::And => {
            let mut out: Option<Array2<f64>> = None;
            for t in each.flatten() {
                out = Some(match out {
                    None => t,
                    Some(mut acc) => {
                        acc *= &t;
                        acc
                    }
                });
            }
            out
        }
        Merge::Or => {
            let mut acc = Array2::zeros(shape);
            for t in each {
                let t = t.unwrap_or_else(|| Array2::ones(shape));
                Zip::from(&mut acc).and(&t).for_each(|a, &b| *a = *a + b - *a * b);
            }
            Some(acc)
        }
    }
}

/// The merged OPD (or phase): summed, and for [`Merge::Or`] each optic's only where its
/// transmission is not zero.
fn merge_opd(
    merge: Merge,
    shape: (usize, usize),
    each: impl Iterator<Item = (Option<Array2<f64>>, Option<Array2<f64>>)>,
) -> Option<Array2<f64>> {
    let mut out: Option<Array2<f64>> = None;
    for (opd, t) in each {
        let Some(opd) = opd else { continue };
        let acc = out.get_or_insert_with(|| Array2::zeros(shape));
        match (merge, t) {
            (Merge::Or, Some(t)) => Zip::from(acc).and(&opd).and(&t).for_each(|a, &o, &t| {
                if t != 0.0 {
                    *a += o;
                }
            }),
            _ => *acc += &opd,
        }
    }
    out
}

impl<O: PupilOptic + ?Sized> PupilOptic for Compound<O> {
    fn kind(&self) -> &'static str {
        "compound_optic"
    }
    fn describe(&self) -> String {
        let parts: Vec<String> = self.optics.iter().map(|o| o.describe()).collect();
        format!("Compound ({:?}): {}", self.merge, parts.join("; "))
    }
    fn natural_diameter(&self) -> Option<f64> {
        self.optics.iter().filter_map(|o| o.natural_diameter()).reduce(f64::max)
    }
    fn transmission(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let shape = (grid.npix(), grid.npix());
        merge_transmission(self.merge, shape, self.optics.iter().map(|o| o.transmission(grid)))
    }
    fn opd(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let shape = (grid.npix(), grid.npix());
        let t = |o: &Arc<O>| (self.merge == Merge::Or).then(|| o.transmission(grid)).flatten();
        merge_opd(self.merge, shape, self.optics.iter().map(|o| (o.opd(grid), t(o))))
    }
    fn phase(&self, grid: &PupilGrid) -> Option<Array2<f64>> {
        let shape = (grid.npix(), grid.npix());
        let t = |o: &Arc<O>| (self.merge == Merge::Or).then(|| o.transmission(grid)).flatten();
        merge_opd(self.merge, shape, self.optics.iter().map(|o| (o.phase(grid), t(o))))
    }
}

impl<O: ImageOptic + ?Sized> ImageOptic for Compound<O> {
    fn kind(&self) -> &'static str {
        "compound_optic"
    }
    fn describe(&self) -> String {
        let parts: Vec<String> = self.optics.iter().map(|o| o.describe()).collect();
        format!("Compound ({:?}): {}", self.merge, parts.join("; "))
    }
    fn transmission(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        merge_transmission(self.merge, grid.shape, self.optics.iter().map(|o| o.transmission(grid)))
    }
    fn opd(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        let t = |o: &Arc<O>| (self.merge == Merge::Or).then(|| o.transmission(grid)).flatten();
        merge_opd(self.merge, grid.shape, self.optics.iter().map(|o| (o.opd(grid), t(o))))
    }
    fn phase(&self, grid: &ImageGrid) -> Option<Array2<f64>> {
        let t = |o: &Arc<O>| (self.merge == Merge::Or).then(|| o.transmission(grid)).flatten();
        merge_opd(self.merge, grid.shape, self.optics.iter().map(|o| (o.phase(grid), t(o))))
    }
    /// Outside every optic's blocking box all are clear with no OPD.
    fn blocking_extent(&self) -> Option<(f64, f64)> {
        let mut out = (0.0f64, 0.0f64);
        for o in &self.optics {
            let e = o.blocking_extent()?;
            out = (out.0.max(e.0), out.1.max(e.1));
        }
        Some(out)
    }
    /// `And`: outside any one optic's transmitting box the product is 0 (the boxes' common
    /// part); `Or`: outside all of them every optic is 0.
    fn transmitting_extent(&self) -> Option<(f64, f64)> {
        match self.merge {
            Merge::And => self
                .optics
                .iter()
                .filter_map(|o| o.transmitting_extent())
                .reduce(|a, b| (a.0.min(b.0), a.1.min(b.1))),
            Merge::Or => {
                let mut out = (0.0f64, 0.0f64);
                for o in &self.optics {
                    let e = o.transmitting_extent()?;
                    out = (out.0.max(e.0), out.1.max(e.1));
                }
                Some(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CircularAperture, Frame, Placed};

    /// Reference: POPPY's formulas written out on two overlapping discs.
    #[test]
    fn and_multiplies_and_or_unites() {
        let grid = PupilGrid::new(32, 2.0).unwrap();
        let a: Arc<dyn PupilOptic> = Arc::new(CircularAperture::new(0.5).unwrap());
        let b: Arc<dyn PupilOptic> =
            Arc::new(Placed::new(a.clone(), Frame::new(0.3, 0.0, None).unwrap()));
        let (ta, tb) = (a.transmission(&grid).unwrap(), b.transmission(&grid).unwrap());
        let and = Compound::new(vec![a.clone(), b.clone()], Merge::And);
        assert_eq!(and.transmission(&grid).unwrap(), &ta * &tb);
        let or = Compound::new(vec![a, b], Merge::Or);
        let want = Zip::from(&ta)
            .and(&tb)
            .map_collect(|&x, &y| (0.0 + x - 0.0 * x) + y - (0.0 + x - 0.0 * x) * y);
        assert_eq!(or.transmission(&grid).unwrap(), want);
        assert_eq!(or.natural_diameter(), Some(1.0));
    }
}
