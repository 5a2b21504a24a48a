"""img2latex: images of mathematical formulas to LaTeX, offline, on a CPU."""

from .api import LatexOCR, Prediction

__version__ = "0.1.0"
__all__ = ["LatexOCR", "Prediction", "__version__"]
