"""The exchange: a network through which municipalities share what they learned
from their digital projects. This package is the catalogue of one node."""

__version__ = "0.1.0"
__all__ = ["__version__"]
