"""Training: IR teacher pretraining, the TS-GAN step (Algorithm 1), the trainer loop, checkpoints, DDP, runs.

Modules: ``checkpoint`` (atomic save, safe load, load_backbone), ``schedule`` (warm-up + steps),
``distributed`` (torchrun/DDP), ``device`` (AMP, channels_last), ``rundir`` (run folders),
``stepmodel`` (what the trainer drives), ``teacher`` (IR-only BoT), ``tsgan_model`` (Algorithm 1),
``trainer`` (loop, exact resume, divergence guard), ``runs`` (cached runs shared by notebooks and
the demo), ``single_modality`` (Table III evaluation), ``figures`` (loss curves, generated images),
``cli_teacher``/``cli_train``/``demo`` (commands).
"""
