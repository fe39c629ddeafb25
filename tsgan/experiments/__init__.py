"""Experiments on top of the library: calibration of the embedded data, ablations, demos."""
