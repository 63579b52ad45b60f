"""Package settings every computation reads (as ``poppy.conf``)."""

from __future__ import annotations


class Conf:
    """Settings of the ``diffract`` package, read when a PSF is computed:

    ``precision``: "auto" (the default: single-precision transforms wherever the PSF
    stays within 1e-6 relative L2 of double precision, double elsewhere), "f64" (double
    throughout, POPPY's numbers to ~1e-14) or "f32"; the command line's ``--precision``.
    """

    precision: str = "auto"

    def __repr__(self) -> str:
        return f"<diffract.conf: precision={self.precision!r}>"


#: The package's settings (``diffract.conf.precision = "f64"``).
conf = Conf()
