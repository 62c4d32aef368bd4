"""envcheck's tests; DATA and ROOT are the test data folder and the repository root."""

from pathlib import Path

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parents[1]
