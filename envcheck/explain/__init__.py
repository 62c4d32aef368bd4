"""A pasted log (+ facts) → ranked diagnoses with their exact fixes."""
