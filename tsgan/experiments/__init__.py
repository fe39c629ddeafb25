"""Experiments built on the library: calibration of the embedded data, the ablation table
(``ablate``, ``ablate_report``), the demo."""
