"""Training infrastructure: what drives any step model, knowing nothing of TS-GAN.

Modules: ``step_model`` (the base every step model builds on: optimizers, DDP, AMP, schedulers),
``trainer`` (loop, exact resume, divergence guard, per-epoch callbacks such as the probes),
``checkpoint`` (atomic save, safe load, load_backbone), ``schedule`` (warm-up + steps), ``device``
(AMP, channels_last), ``distributed`` (torchrun/DDP), ``rundir`` (run folders), ``provenance``,
``tensorboard``. The step models themselves are in ``tsgan.methods``; the cached runs that the
notebooks and the demo share, which put a step model and the trainer together, in
``tsgan.training`` (above this package: the engine imports no method, figure or experiment).
"""
