"""The embedded dataset: procedurally rendered pedestrians in the SYSU-MM01 (or RegDB) layout.

A world of its own beside the real-data readers, in four modules (one role each):

* :mod:`.generator`: the trees on disk (``generate``, ``ensure_synthetic``, ``read_synthetic``),
  the SYSU-layout plan, one picture and its IR twin (``picture``, ``twin_picture``, ``ir_twin``),
  ``GENERATOR_VERSION`` (part of every run key on this data), the worlds (``WORLDS``: the default
  v3 and v4, SYSU-MM01's camera structure: ``SYSU_V4_DEFAULTS``, ``V4_VIEWS``);
* :mod:`.attributes`: the latent attributes of an identity and of a camera (``Identity``,
  ``Camera``, fabrics and their thermal levels);
* :mod:`.nir`: the near-infrared reflectance of dyes, fibres, skin and hair (850 nm);
* :mod:`.drawing`: the canvas, the pose, and what an RGB, NIR or thermal camera records.

``from tsgan.data.synthetic import generate`` (and every other name below) reads from here; the
pictures, their bytes and the generator version do not depend on this layout.
"""

from .generator import (
    GENERATOR_VERSION,
    JPEG_QUALITY,
    MARKER,
    OUTDOOR_CAMS,
    REGDB_CAMS,
    REGDB_DEFAULTS,
    SYSU_DEFAULTS,
    SYSU_V4_DEFAULTS,
    TWIN_CAMS,
    V4_VIEWS,
    WORLDS,
    SysuPlan,
    ensure_synthetic,
    generate,
    identity,
    ir_twin,
    options_for,
    picture,
    picture_views,
    plan_sysu,
    read_synthetic,
    twin_picture,
    world,
    world_name,
    world_options,
)

__all__ = [
    "GENERATOR_VERSION",
    "JPEG_QUALITY",
    "MARKER",
    "OUTDOOR_CAMS",
    "REGDB_CAMS",
    "REGDB_DEFAULTS",
    "SYSU_DEFAULTS",
    "SYSU_V4_DEFAULTS",
    "TWIN_CAMS",
    "V4_VIEWS",
    "WORLDS",
    "SysuPlan",
    "ensure_synthetic",
    "generate",
    "identity",
    "ir_twin",
    "options_for",
    "picture",
    "picture_views",
    "plan_sysu",
    "read_synthetic",
    "twin_picture",
    "world",
    "world_name",
    "world_options",
]
