"""envcheck: get OpenMMLab working on a real machine, and prove it works."""

__version__ = "0.1.0"
