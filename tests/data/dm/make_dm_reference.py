"""Reference PSFs and OPDs for the deformable-mirror scenes, computed with POPPY 1.1.2.

usage: python make_dm_reference.py [CASE.toml ...] [--out DIR]
Defaults: every scene in cases/ next to this script, written to expected/.
First writes the influence-function files the scenes use (cases/influence_*.fits, made
here so they are reproducible). For each scene writes DIR/<case>.fits (POPPY's calc_psf HDUList) and DIR/<case>_opd.fits
(the first deformable mirror's get_opd on the entrance-pupil wavefront, metres).
Other optic kinds are built by ../poppy_reference.py. Fresnel scenes (propagation =
"fresnel", e.g. ../fresnel/cases/fresnel_dm.toml) are built as a FresnelOpticalSystem.
"""

import argparse
import importlib.util
import pathlib
import tomllib

import astropy.units as u
import numpy as np
import poppy
from astropy.io import fits

HERE = pathlib.Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location(
    "poppy_reference", HERE.parent / "poppy_reference.py"
)
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)

DM_KINDS = (
    "continuous_deformable_mirror",
    "hex_segmented_deformable_mirror",
    "circular_segmented_deformable_mirror",
)


def write_influence_functions():
    """Two made-up, asymmetric influence functions (so flips and offsets show): 41 x 41
    pixels at 8 per actuator, and 61 x 61 at 20 per actuator."""
    for name, size, sampling in (
        ("influence_coarse", 41, 8.0),
        ("influence_fine", 61, 20.0),
    ):
        y, x = (np.indices((size, size)) - (size - 1) / 2) / sampling
        r2 = x**2 + y**2
        data = np.exp(-r2 / 0.8) * (1 + 0.2 * x - 0.1 * y) - 0.05 * np.exp(
            -((np.sqrt(r2) - 1.6) ** 2) / 0.1
        )
        hdu = fits.PrimaryHDU(data)
        hdu.header["SAMPLING"] = (sampling, "pixels per actuator spacing")
        hdu.writeto(HERE / "cases" / f"{name}.fits", overwrite=True)


def segment_values(o, a):
    """Applies piston/tip/tilt lists (indexed by segment number) to a segmented DM."""
    piston = a.pop("piston_m", [])
    tip = a.pop("tip_rad", [])
    tilt = a.pop("tilt_rad", [])
    n = max(len(piston), len(tip), len(tilt))
    for seg in range(n):
        values = [lst[seg] if seg < len(lst) else 0.0 for lst in (piston, tip, tilt)]
        if any(values):
            o.set_actuator(
                seg, values[0] * u.m, values[1] * u.radian, values[2] * u.radian
            )


def dm_from(d, base):
    a = dict(d)
    a.pop("plane", None)
    a.pop("distance_m", None)
    kind = a.pop("kind")
    if kind == "continuous_deformable_mirror":
        spacing = a.pop("actuator_spacing_m", None)
        o = poppy.ContinuousDeformableMirror(
            dm_shape=tuple(a.pop("dm_shape", [10, 10])),
            actuator_spacing=None if spacing is None else spacing * u.m,
            radius=a.pop("radius_m", 1.0) * u.m,
            flip_x=a.pop("flip_x", False),
            flip_y=a.pop("flip_y", False),
            include_factor_of_two=a.pop("include_factor_of_two", False),
            influence_func=str(base / a.pop("influence_path"))
            if "influence_path" in a
            else None,
        )
        if "surface_m" in a:
            o.set_surface(np.asarray(a.pop("surface_m"), dtype=float) * u.m)
    elif kind == "hex_segmented_deformable_mirror":
        o = poppy.HexSegmentedDeformableMirror(
            rings=a.pop("rings", 3),
            flattoflat=a.pop("flattoflat_m", 1.0) * u.m,
            gap=a.pop("gap_m", 0.01) * u.m,
            center=a.pop("center", True),
            segmentlist=a.pop("segments", None),
            include_factor_of_two=a.pop("include_factor_of_two", False),
        )
        segment_values(o, a)
    else:
        o = poppy.CircularSegmentedDeformableMirror(
            rings=a.pop("rings", 1),
            segment_radius=a.pop("segment_radius_m", 1.0) * u.m,
            gap=a.pop("gap_m", 0.01) * u.m,
            center=a.pop("center", True),
            segmentlist=a.pop("segments", None),
            include_factor_of_two=a.pop("include_factor_of_two", False),
        )
        segment_values(o, a)
    if a:
        raise SystemExit(f"{kind}: keys not understood: {sorted(a)}")
    return o


def build_fresnel(case, base):
    """A FresnelOpticalSystem (propagation = "fresnel"): optics at distance_m."""
    osys = poppy.FresnelOpticalSystem(
        name=case.get("name", "case"),
        pupil_diameter=case["pupil_diameter_m"] * u.m,
        npix=case.get("npix", 1024),
        beam_ratio=case.get("beam_ratio", 0.5),
    )
    dms = []
    for d in case["optic"]:
        if d["kind"] in DM_KINDS:
            optic = dm_from(d, base)
            dms.append(optic)
        else:
            _, optic = reference.optic_from(d)
        osys.add_optic(optic, distance=d.get("distance_m", 0.0) * u.m)
    return osys, dms


def build(case, base):
    if case.get("propagation") == "fresnel":
        return build_fresnel(case, base)
    kw = {"oversample": case.get("oversample", 2), "npix": case.get("npix", 1024)}
    if "pupil_diameter_m" in case:
        kw["pupil_diameter"] = case["pupil_diameter_m"]
    osys = poppy.OpticalSystem(name=case.get("name", "case"), **kw)
    dms = []
    for d in case["optic"]:
        if d["kind"] in DM_KINDS:
            optic = dm_from(d, base)
            dms.append(optic)
            osys.add_pupil(optic)
        else:
            plane, optic = reference.optic_from(d)
            (osys.add_pupil if plane == "pupil" else osys.add_image)(optic)
    det = case["detector"]
    dkw = {k: det[k] for k in ("fov_arcsec", "fov_pixels") if k in det}
    osys.add_detector(pixelscale=det["pixelscale_arcsec"], **dkw)
    return osys, dms


def run(path, out):
    case = tomllib.loads(path.read_text())
    wl = np.asarray(case["source"]["wavelengths_m"], float)
    w = np.asarray(case["source"].get("weights", np.ones(len(wl))), float)
    osys, dms = build(case, path.parent)
    hdul = osys.calc_psf(
        source={"wavelengths": wl, "weights": w / w.sum()}, display=False
    )
    hdul.writeto(out / f"{path.stem}.fits", overwrite=True)
    wf = osys.input_wavefront(wl[0] * u.m)
    opd = np.asarray(dms[0].get_opd(wf), dtype=float)
    hdu = fits.PrimaryHDU(opd)
    hdu.header["PIXELSCL"] = (wf.pixelscale.to_value(u.m / u.pixel), "metres per pixel")
    hdu.header["BUNIT"] = "m"
    hdu.writeto(out / f"{path.stem}_opd.fits", overwrite=True)
    print(
        f"{path.stem}: psf {hdul[0].data.shape}, opd {opd.shape}, max |opd| {np.abs(opd).max():.3e} m"
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", nargs="*", type=pathlib.Path)
    ap.add_argument("--out", type=pathlib.Path, default=HERE / "expected")
    args = ap.parse_args()
    poppy.conf.use_multiprocessing = False
    poppy.conf.use_fftw = False
    args.out.mkdir(parents=True, exist_ok=True)
    write_influence_functions()
    for c in args.cases or sorted((HERE / "cases").glob("*.toml")):
        run(c, args.out)


if __name__ == "__main__":
    main()
