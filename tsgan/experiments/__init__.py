"""Experiments built from cached runs: the ablation table (``ablate``, ``ablate_report``), demo."""
