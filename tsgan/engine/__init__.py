"""Training infrastructure: what drives any step model, knowing nothing of TS-GAN.

Modules: ``trainer`` (loop, exact resume, divergence guard), ``checkpoint`` (atomic save, safe load,
load_backbone), ``schedule`` (warm-up + steps), ``device`` (AMP, channels_last), ``distributed``
(torchrun/DDP), ``rundir`` (run folders), ``runs`` (cached runs shared by notebooks and the demo).
The step models themselves are in ``tsgan.methods``.
"""
