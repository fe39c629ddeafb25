"""Networks of TS-GAN: split ReID backbone, teacher, CycleGAN generators, PatchGAN and joint
discriminators.

Networks only: the training steps that use them are in ``tsgan.methods``, the freezing helper in
``tsgan.freeze``.
"""

from .backbone import ARCHS, ImageNetNormalize, ReIDBackbone, build_backbone
from .discriminator import JointDiscriminator, PatchDiscriminator, build_discriminators
from .gap import channel_stats, linear_cka, modality_gap
from .generator import ResnetGenerator, build_generators, init_weights, load_generator_I
from .teacher import Teacher

__all__ = [
    "ARCHS",
    "ImageNetNormalize",
    "ReIDBackbone",
    "build_backbone",
    "Teacher",
    "ResnetGenerator",
    "build_generators",
    "load_generator_I",
    "init_weights",
    "PatchDiscriminator",
    "JointDiscriminator",
    "build_discriminators",
    "channel_stats",
    "modality_gap",
    "linear_cka",
]
