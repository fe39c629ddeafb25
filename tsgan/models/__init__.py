"""Networks of TS-GAN: split ReID backbone, teacher, CycleGAN generators, PatchGAN and joint discriminators.

``tsgan.models.cyclegan.CycleGAN`` (the generation module trained on its own) builds on ``tsgan.losses``,
which builds on this package, so it is imported from its module rather than from here.
"""
from .backbone import ARCHS, ImageNetNormalize, ReIDBackbone, build_backbone
from .discriminator import JointDiscriminator, PatchDiscriminator, build_discriminators
from .gap import channel_stats, linear_cka, modality_gap
from .generator import ResnetGenerator, build_generators, init_weights
from .grad import frozen, set_requires_grad
from .teacher import Teacher

__all__ = [
    "ARCHS", "ImageNetNormalize", "ReIDBackbone", "build_backbone", "Teacher",
    "ResnetGenerator", "build_generators", "init_weights",
    "PatchDiscriminator", "JointDiscriminator", "build_discriminators",
    "frozen", "set_requires_grad", "channel_stats", "modality_gap", "linear_cka",
]
