"""Latent attributes of a synthetic pedestrian and of a synthetic camera.

An identity is what stays the same from one picture of a person to the next: body proportions,
clothing (colour, pattern, cut), accessories and a *thermal signature*: for every clothing region
the intensity it shows to a thermal camera, set by its fabric (emissivity, insulation), not by its
colour. Two shirts of different colour but the same fabric look alike in IR; a red and a green
shirt of different fabrics may look alike in RGB luminance yet differ in IR. A printed or woven
pattern emits a little differently from the ground fabric, so its geometry (stripe direction and
period, checks, a logo) shows in both modalities, though its colours only in RGB.

What both modalities share is shape: height and build, hair length, sleeve length, the cut of the
top (tucked in, tunic, coat) and of the bottom (trousers, shorts or a skirt of some length), bags,
pattern geometry and fabric weave. What only RGB sees is colour; what only IR sees is temperature.

In the near-infrared (SYSU-MM01, LLCM) the picture follows the colour after all, through a fixed
non-trivial function of the dye (``nir``): the thermal signature above is used only by
thermal cameras (RegDB). ``nir_jitter`` is the identity's dye-batch offset in NIR.

A camera is what stays the same from one picture of a camera to the next: its physics (``"rgb"``,
``"nir"`` or ``"thermal"``), illumination and white balance (RGB), active illumination fall-off
(NIR), ambient temperature (thermal), gain, noise and blur, the background scene and the
preferred viewpoint.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

from .nir import NIR_JITTER

# Fabric -> (mean thermal intensity, spread). Thermal intensity is in [0, 1] before the camera's
# gain; skin is the hottest surface, bags and shoes the coldest. Insulating fabrics (down, leather,
# wool) show the cold outside of the garment, thin ones (synthetic, cotton) the body heat beneath.
FABRICS = {
    "synthetic": (0.82, 0.04),
    "cotton": (0.70, 0.04),
    "denim": (0.58, 0.04),
    "wool": (0.48, 0.04),
    "leather": (0.38, 0.04),
    "down": (0.27, 0.04),
}
TOP_FABRICS = ("cotton", "synthetic", "wool", "down", "leather")
BOTTOM_FABRICS = ("cotton", "synthetic", "wool", "denim")
PATTERNS = ("plain", "hstripes", "vstripes", "checks", "twotone", "logo")
BOTTOMS = ("trousers", "trousers", "trousers", "shorts", "skirt")
SLEEVES = (0.0, 0.35, 0.6, 0.88)  # fraction of the arm a sleeve covers: none, short, elbow, long
VIEWS = ("front", "back", "side")


def _colour(rng: np.random.Generator) -> np.ndarray:
    """A clothing colour: a third neutral (black, grey, white), the rest saturated hues."""
    if rng.random() < 0.33:
        v = rng.choice([0.08, 0.2, 0.45, 0.7, 0.92]) + rng.normal(0, 0.03)
        return np.clip(np.full(3, v), 0, 1)
    h, s, v = rng.random(), rng.uniform(0.35, 0.95), rng.uniform(0.25, 0.95)
    return np.array(colorsys.hsv_to_rgb(h, s, v))


def _thermal(rng: np.random.Generator, fabric: str) -> float:
    mean, spread = FABRICS[fabric]
    return float(np.clip(rng.normal(mean, spread), 0.05, 0.95))


def _choice(rng: np.random.Generator, options: tuple, p: tuple[float, ...] | None = None):
    return options[rng.choice(len(options), p=p)]


@dataclass(frozen=True)
class Identity:
    """Everything that makes pedestrian ``pid`` recognisable (sizes are fractions of body
    height)."""

    pid: int
    height: float  # body height relative to the average person
    build: float  # width factor of torso, arms and legs
    torso: float  # shoulder-to-hip length
    head: float  # head radius
    skin: np.ndarray  # RGB
    skin_t: float  # thermal intensity of skin
    hair: np.ndarray
    hair_t: float
    hair_length: float  # how far hair falls below the shoulders; 0 for short hair
    top: np.ndarray  # main colour of the top
    top2: np.ndarray  # pattern colour
    top_t: float  # thermal intensity of the top's fabric
    top2_t: float  # of the pattern: another fabric ("twotone") or a print on the same one
    top_fabric: str  # the weave shows in both modalities (see drawing.fabric_texture)
    pattern: str
    period: float  # stripe/check period (fraction of body height)
    sleeve: float  # fraction of the arm the sleeve covers (one of SLEEVES)
    top_length: float  # how far the top reaches below the hips: 0 tucked in, tunic, coat
    bottom_kind: str
    bottom_length: float  # fraction of the leg (hip to ankle) the bottom covers
    bottom: np.ndarray
    bottom_t: float
    bottom_fabric: str
    shoes: np.ndarray
    shoes_t: float
    backpack: np.ndarray | None  # colour, or None
    backpack_t: float
    backpack_size: float  # width and length factor of the backpack
    handbag: np.ndarray | None
    handbag_t: float
    cap: np.ndarray | None
    cap_t: float
    nir_jitter: float  # dye-batch offset of this person's clothes in NIR (nir.NIR_JITTER)

    @property
    def long_hair(self) -> bool:
        return self.hair_length > 0.04


def sample_identity(rng: np.random.Generator, pid: int) -> Identity:
    """Draw the latent attributes of one pedestrian; colours and fabrics are drawn independently."""
    top_fabric = _choice(rng, TOP_FABRICS)
    bottom_kind = _choice(rng, BOTTOMS)
    bottom_fabric = (
        "denim"
        if bottom_kind == "trousers" and rng.random() < 0.4
        else _choice(rng, BOTTOM_FABRICS)
    )
    bottom = (
        np.array([0.2, 0.3, 0.55]) * rng.uniform(0.6, 1.3)
        if bottom_fabric == "denim"
        else _colour(rng)
    )
    bottom_length = {
        "trousers": 1.0,
        "shorts": rng.uniform(0.25, 0.5),
        "skirt": rng.uniform(0.3, 0.85),
    }[bottom_kind]
    pattern = _choice(rng, PATTERNS)
    top_t = _thermal(rng, top_fabric)
    if pattern == "twotone" and rng.random() < 0.7:
        top2_t = _thermal(rng, _choice(rng, TOP_FABRICS))
    else:  # a print or a dyed yarn emits a little differently from the ground fabric
        top2_t = float(np.clip(top_t + rng.choice([-1, 1]) * rng.uniform(0.1, 0.2), 0.05, 0.95))
    hair_length = _choice(
        rng, (0.0, rng.uniform(-0.02, 0.02), rng.uniform(0.07, 0.17)), (0.5, 0.2, 0.3)
    )
    top_length = _choice(
        rng, (0.0, rng.uniform(0.05, 0.1), rng.uniform(0.18, 0.3)), (0.5, 0.2, 0.3)
    )
    skin_tone = rng.uniform(0.25, 0.95)
    has_backpack, has_handbag, has_cap = rng.random(3) < (0.4, 0.25, 0.15)
    return Identity(
        pid=pid,
        height=rng.uniform(0.85, 1.1),
        build=rng.uniform(0.65, 1.4),
        torso=rng.uniform(0.27, 0.37),
        head=rng.uniform(0.056, 0.074),
        skin=np.clip(np.array([0.95, 0.78, 0.65]) * skin_tone + 0.05, 0, 1),
        skin_t=float(rng.uniform(0.88, 0.96)),
        hair=np.clip(np.array([0.25, 0.17, 0.1]) * rng.uniform(0.2, 3.0), 0, 1),
        hair_t=float(rng.uniform(0.5, 0.62)),
        hair_length=float(hair_length),
        top=_colour(rng),
        top2=_colour(rng),
        top_t=top_t,
        top2_t=top2_t,
        top_fabric=top_fabric,
        pattern=pattern,
        period=rng.uniform(0.07, 0.14),
        sleeve=_choice(rng, SLEEVES),
        top_length=float(top_length),
        bottom_kind=bottom_kind,
        bottom_length=float(bottom_length),
        bottom=np.clip(bottom, 0, 1),
        bottom_t=_thermal(rng, bottom_fabric),
        bottom_fabric=bottom_fabric,
        shoes=_colour(rng) * 0.6,
        shoes_t=float(rng.uniform(0.3, 0.45)),
        backpack=_colour(rng) if has_backpack else None,
        backpack_t=float(rng.uniform(0.15, 0.32)),
        backpack_size=rng.uniform(0.8, 1.3),
        handbag=_colour(rng) if has_handbag else None,
        handbag_t=float(rng.uniform(0.2, 0.4)),
        cap=_colour(rng) if has_cap else None,
        cap_t=float(rng.uniform(0.35, 0.5)),
        nir_jitter=float(rng.normal(0.0, NIR_JITTER)),
    )


PHYSICS = ("rgb", "nir", "thermal")


@dataclass(frozen=True)
class Camera:
    """One synthetic camera; ``physics`` says what it records: colour, NIR reflectance or heat."""

    cam: int
    physics: str
    outdoor: bool
    gain: float  # RGB: illumination; NIR: illuminator power; thermal: contrast
    white: np.ndarray  # RGB white balance per channel (all ones for IR)
    gamma: float
    bg_top: np.ndarray  # background scene colours (RGB); IR cameras convert them
    bg_bottom: np.ndarray
    horizon: float  # fraction of the image height where the floor starts
    noise: float  # sensor noise standard deviation
    blur: float  # Gaussian blur sigma in pixels
    view_p: np.ndarray  # probabilities of front / back / side views
    ambient: float = 0.0  # thermal: grey level of the ambient-temperature background
    falloff: float = 0.0  # NIR: illumination lost at the image corners (active illuminator)
    bg_light: float = 1.0  # NIR: share of the illuminator's light reaching the background

    @property
    def ir(self) -> bool:
        return self.physics != "rgb"


def sample_camera(rng: np.random.Generator, cam: int, physics: str, outdoor: bool) -> Camera:
    """Draw one camera. Every camera films a coloured scene (the background); IR cameras are a
    little noisier and blurrier; an NIR camera's illuminator lights the person more than the
    farther background (outdoors at night far more); thermal outdoor cameras see a colder scene."""
    if physics not in PHYSICS:
        raise ValueError(f"physics must be one of {PHYSICS}, got {physics!r}")
    view_p = rng.dirichlet(np.full(3, 1.5)) * 0.7 + 0.1
    if outdoor:
        top = np.array([0.55, 0.65, 0.75]) * rng.uniform(0.7, 1.1)
        bottom = np.array([0.45, 0.43, 0.4]) * rng.uniform(0.7, 1.1)
    else:
        top, bottom = _colour(rng) * 0.5 + 0.35, _colour(rng) * 0.4 + 0.2
    top, bottom, horizon = np.clip(top, 0, 1), np.clip(bottom, 0, 1), rng.uniform(0.7, 0.85)
    if physics == "rgb":
        return Camera(
            cam,
            physics,
            outdoor,
            rng.uniform(1.05, 1.3) if outdoor else rng.uniform(0.75, 1.0),
            rng.uniform(0.85, 1.15, size=3),
            rng.uniform(0.85, 1.15),
            top,
            bottom,
            horizon,
            rng.uniform(0.008, 0.018),
            rng.uniform(0.3, 0.6),
            view_p,
        )
    ambient = rng.uniform(0.12, 0.22) if outdoor else rng.uniform(0.28, 0.38)
    bg_light = rng.uniform(0.2, 0.35) if outdoor else rng.uniform(0.4, 0.55)
    gain = rng.uniform(1.0, 1.15) if physics == "nir" else rng.uniform(1.05, 1.25)
    return Camera(
        cam,
        physics,
        outdoor,
        gain,
        np.ones(3),
        rng.uniform(0.92, 1.08),
        top,
        bottom,
        horizon,
        rng.uniform(0.008, 0.014),
        rng.uniform(0.55, 0.8),
        view_p,
        ambient=ambient,
        falloff=rng.uniform(0.25, 0.45),
        bg_light=bg_light,
    )
