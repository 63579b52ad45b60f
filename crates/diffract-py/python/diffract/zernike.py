"""POPPY's ``poppy.zernike`` basis functions, by name: pass them to
``ParameterizedWFE(basis_factory=)``. diffract evaluates the bases in Rust when the PSF
is computed; evaluating them from Python is not offered."""

__all__ = ["hexike_basis", "zernike_basis"]


def _not_from_python(name):
    raise NotImplementedError(
        f"diffract.zernike.{name}: evaluating the basis from Python is not implemented; "
        "pass the function as ParameterizedWFE(basis_factory=...)"
    )


def zernike_basis(nterms=15, npix=512, rho=None, theta=None, **kwargs):
    """The Zernike basis (Noll order from piston), as ``ParameterizedWFE``'s
    ``basis_factory``."""
    _not_from_python("zernike_basis")


def hexike_basis(nterms=15, npix=512, rho=None, theta=None, **kwargs):
    """The hexike basis (orthonormal over the hexagon inscribed in the unit circle), as
    ``ParameterizedWFE``'s ``basis_factory``."""
    _not_from_python("hexike_basis")
