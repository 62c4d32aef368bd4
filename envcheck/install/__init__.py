"""Carry out a plan safely: snapshot → steps (wheels, builds, patched builds, cache) → verify → roll back."""
