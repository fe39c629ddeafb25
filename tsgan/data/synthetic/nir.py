"""Near-infrared (~850 nm) reflectance of the materials of the embedded world.

SYSU-MM01's IR cameras (3 and 6) and LLCM's are *near-infrared* cameras with an active
illuminator: what they record is how much of the illuminator's light a surface reflects, not how
warm it is. For clothing that is set mostly by the dye and the fibre. Many textile dyes are nearly
transparent at 850 nm, so a dark red or a deep purple shirt can look bright; carbon-black pigment
absorbs, so black and dark grey stay dark; some blue-green dyes absorb part of the NIR. The model
(all values are reflectances in [0, 1] before the camera):

* dye: ``NIR_WHITE * (1 - CARBON * (1 - s) * (1 - v) ** 1.5) * (1 - HUE_ABSORB * s * bump(h))``
  with (h, s, v) the HSV coordinates of the dye's RGB colour and
  ``bump(h) = 0.5 + 0.5 cos(2 pi (h - HUE_CENTRE))`` (blue-cyan dyes absorb most, red-yellow least).
  A fixed, smooth, non-trivial function of the colour: neither its luminance nor a channel copy;
* fibre: an additive term per fabric (:data:`FIBRE_NIR`), plus a small per-identity jitter
  (``Identity.nir_jitter``, normal with sd :data:`NIR_JITTER`: two batches of one dye differ);
* skin is bright in NIR whatever its visible tone (melanin absorbs little at 850 nm): 0.55 + 0.25 x
  mean skin colour; hair 0.2 + 0.45 x mean hair colour; shoes and bags are their dye minus 0.1
  (rubber, coated leather); background surfaces (walls, floor, ground) go through the dye model.

The camera side (illumination fall-off, gain, noise, blur) is in ``drawing.expose``.
The thermal model of RegDB's camera (``attributes.FABRICS``) is untouched: there the grey
level follows fabric temperature and emissivity, not colour.
"""

from __future__ import annotations

import numpy as np

NIR_WHITE = 0.85  # reflectance of undyed fibre at 850 nm
CARBON = 0.9  # absorption of a neutral (unsaturated) dark: carbon-black pigment
HUE_ABSORB = 0.5  # absorption of a fully saturated dye at the absorbing hue
HUE_CENTRE = 0.58  # the absorbing hue (HSV hue in [0, 1): 0.58 is a cyan-blue)
NIR_JITTER = 0.03  # sd of the per-identity dye-batch offset
FIBRE_NIR = {  # additive fibre term
    "synthetic": 0.04,
    "cotton": 0.0,
    "denim": -0.04,
    "wool": -0.06,
    "leather": -0.12,
    "down": 0.02,
}


def hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised RGB -> (h, s, v) over the last axis (same convention as :mod:`colorsys`)."""
    rgb = np.asarray(rgb, dtype=np.float32)
    v = rgb.max(axis=-1)
    c = v - rgb.min(axis=-1)
    s = np.where(v > 0, c / np.maximum(v, 1e-6), 0.0)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    safe = np.maximum(c, 1e-6)
    h = np.where(
        v == r, (g - b) / safe, np.where(v == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe)
    )
    return np.where(c > 0, (h / 6.0) % 1.0, 0.0), s, v


def dye_nir(rgb: np.ndarray) -> np.ndarray:
    """NIR reflectance of a dye from its RGB colour(s) in [0, 1]: shape ``rgb.shape[:-1]``."""
    h, s, v = hsv(rgb)
    carbon = (1 - s) * (1 - v) ** 1.5
    bump = 0.5 + 0.5 * np.cos(2 * np.pi * (h - HUE_CENTRE))
    return (NIR_WHITE * (1 - CARBON * carbon) * (1 - HUE_ABSORB * s * bump)).astype(np.float32)


def skin_nir(skin: np.ndarray) -> float:
    return float(0.55 + 0.25 * np.mean(skin))


def hair_nir(hair: np.ndarray) -> float:
    return float(0.2 + 0.45 * np.mean(hair))
