"""POPPY's ``poppy.zernike`` basis functions, by name: pass them to
``ParameterizedWFE(basis_factory=)``. diffract evaluates the bases in Rust when the PSF
is computed; evaluating them from Python is not offered."""

from __future__ import annotations

from typing import Any, NoReturn

import numpy.typing as npt

__all__ = ["hexike_basis", "zernike_basis"]


def _not_from_python(name: str) -> NoReturn:
    raise NotImplementedError(
        f"diffract.zernike.{name}: evaluating the basis from Python is not implemented; "
        "pass the function as ParameterizedWFE(basis_factory=...)"
    )


def zernike_basis(
    nterms: int = 15,
    npix: int = 512,
    rho: npt.ArrayLike | None = None,
    theta: npt.ArrayLike | None = None,
    **kwargs: Any,
) -> NoReturn:
    """The Zernike basis (Noll order from piston), as ``ParameterizedWFE``'s
    ``basis_factory``."""
    _not_from_python("zernike_basis")


def hexike_basis(
    nterms: int = 15,
    npix: int = 512,
    rho: npt.ArrayLike | None = None,
    theta: npt.ArrayLike | None = None,
    **kwargs: Any,
) -> NoReturn:
    """The hexike basis (orthonormal over the hexagon inscribed in the unit circle), as
    ``ParameterizedWFE``'s ``basis_factory``."""
    _not_from_python("hexike_basis")
