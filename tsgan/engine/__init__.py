"""Training: IR teacher pretraining, the TS-GAN step (Algorithm 1), the trainer loop, checkpoints, DDP, runs.

Modules: ``checkpoint`` (atomic save, safe load), ``schedule`` (warm-up + steps), ``distributed``
(torchrun/DDP), ``device`` (AMP, channels_last), ``rundir`` (run folders), ``teacher`` (IR-only
BoT), ``tsgan_model`` (Algorithm 1), ``trainer`` (loop, resume, divergence guard), ``runs``
(cached runs shared by notebooks and the demo), ``cli_teacher``/``cli_train``/``demo`` (commands).
"""
