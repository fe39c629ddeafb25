"""Step models (what the trainer drives): one training step each, built on
``tsgan.engine.step_model.StepModel``.

``tsgan.TSGAN`` (Algorithm 1), ``cyclegan.CycleGAN`` (its generation module alone, notebook 03),
``teacher.IRBaseline`` (the IR teacher's pretraining, Sec. III-C) and ``teacher.RGBBaseline`` (its
RGB twin, Table III's other row).
"""
