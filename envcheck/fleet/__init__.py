"""The fleet: many machines' documents folded into one verdict (fingerprint, report, diff, Slurm adapter)."""
