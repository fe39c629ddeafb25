"""TS-GAN: Teacher-Student GAN for RGB-infrared cross-modality person re-identification."""

__version__ = "0.1.0"
