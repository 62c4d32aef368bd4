"""Probes: each reads one part of the machine or the target interpreter; collect.py runs them all."""
