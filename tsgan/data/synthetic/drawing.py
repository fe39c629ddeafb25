"""Render one synthetic pedestrian picture with vectorised numpy.

A picture is built in three steps:

1. :func:`draw_person` paints body parts (ellipses and tapered strips with anti-aliased edges) into
   three layers at once: an RGB albedo layer, a NIR reflectance layer (``nir``) and a
   thermal layer, plus their alpha. The pose
   (view, gait, arm swing), scale and position come from the per-image random draw.
2. An optional occluder (a bench, a pole, a passer-by) is painted over the person.
3. :func:`expose` turns the scene into what the camera records: colour under the camera's light,
   white balance and gamma for RGB cameras; for NIR cameras the reflectance under the camera's
   active illuminator (brightest at the image centre, ``1 - falloff * r^2``, and stronger on a
   person nearer the camera, inverse-square), automatic gain, blur and sensor noise; for thermal
   cameras the temperature under automatic gain, blur and noise. IR pictures are 3 equal channels.

The background scene is coloured for every camera; NIR cameras see it through the dye model
times ``bg_light`` (it is farther from the illuminator than the person), thermal cameras as the
ambient temperature plus a little structure.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from .attributes import VIEWS, Camera, Identity
from .nir import FIBRE_NIR, dye_nir, hair_nir, skin_nir


class Canvas:
    """Premultiplied RGB, NIR, thermal and alpha layers of a (H, W) picture, painted back to
    front."""

    def __init__(self, height: int, width: int):
        self.yy, self.xx = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
        self.layers = np.zeros((height, width, 6), np.float32)  # R, G, B, thermal, NIR, alpha
        self.rgb, self.th = self.layers[..., :3], self.layers[..., 3]
        self.nir, self.alpha = self.layers[..., 4], self.layers[..., 5]

    def paint(
        self,
        a: np.ndarray,
        colour: np.ndarray,
        thermal: float | np.ndarray,
        nir: float | np.ndarray,
    ) -> None:
        """Paint ``colour`` (3,) or (H, W, 3), ``thermal`` and ``nir`` (scalars or (H, W)) where
        ``a`` (H, W) > 0 (only the rows it touches are computed)."""
        rows = np.flatnonzero(a.max(axis=1) > 0)
        if not len(rows):
            return
        r = slice(rows[0], rows[-1] + 1)
        h, w = rows[-1] + 1 - rows[0], a.shape[1]

        def part(v: float | np.ndarray, depth: int) -> np.ndarray:
            v = np.asarray(v, np.float32)
            shape = (h, w, depth) if depth > 1 else (h, w)
            return np.broadcast_to(v[r] if v.ndim >= 2 else v, shape)

        value = np.concatenate(
            [
                part(colour, 3),
                part(thermal, 1)[..., None],
                part(nir, 1)[..., None],
                np.ones((h, w, 1), np.float32),
            ],
            axis=2,
        )
        self.layers[r] += a[r, :, None] * (value - self.layers[r])

    def ellipse(self, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
        """Anti-aliased alpha of an ellipse (approximate signed distance, in pixels)."""
        d = np.sqrt(((self.xx - cx) / rx) ** 2 + ((self.yy - cy) / ry) ** 2) - 1.0
        return np.clip(0.5 - d * min(rx, ry), 0.0, 1.0)

    def strip(
        self, y0: float, y1: float, x0: float, x1: float, hw0: float, hw1: float
    ) -> np.ndarray:
        """Alpha of a tapered limb: rows y0..y1, centre moving x0 -> x1, half-width hw0 -> hw1."""
        t = np.clip((self.yy - y0) / max(y1 - y0, 1e-6), 0.0, 1.0)
        d = np.maximum(
            np.abs(self.xx - (x0 + t * (x1 - x0))) - (hw0 + t * (hw1 - hw0)),
            np.maximum(y0 - self.yy, self.yy - y1),
        )
        return np.clip(0.5 - d, 0.0, 1.0)


def fabric_texture(
    fabric: str, rel_y: np.ndarray, rel_x: np.ndarray, yy: np.ndarray, xx: np.ndarray
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """How a fabric's weave modulates colour (a factor) and temperature (an offset).

    This is the material cue both modalities share: quilted seams of a down jacket are dark in RGB
    and warm in IR (the insulation is thinnest there); knit ridges and denim twill show in both.
    ``rel_y``, ``rel_x`` are body coordinates (fractions of body height), ``yy``, ``xx`` pixels.
    """
    if fabric == "down":
        seam = (rel_y / 0.075) % 1.0 < 0.25
        return np.where(seam, 0.6, 1.05), np.where(seam, 0.14, 0.0)
    if fabric == "wool":
        ridge = np.where((yy / 4.0) % 1.0 < 0.5, 1.0, -1.0)
        return 1 + 0.12 * ridge, 0.03 * ridge
    if fabric == "denim":
        return np.where(((yy + xx) / 4.0) % 1.0 < 0.5, 1.1, 0.9), 0.0
    if fabric == "leather":
        return 1 + 0.5 * np.exp(-(((rel_x + 0.04) / 0.025) ** 2)), -0.04 * np.exp(
            -((rel_x / 0.05) ** 2)
        )
    if fabric == "synthetic":
        return 1 + 0.25 * np.exp(-(((rel_x - 0.03) / 0.035) ** 2)), 0.0
    return 1.0, 0.0


def draw_person(c: Canvas, ident: Identity, pose: dict) -> None:
    """Paint ``ident`` in ``pose`` (keys: view, hp, top, cx, gait, swing; sizes in pixels)."""
    hp, y_top, cx, view = pose["hp"], pose["top"], pose["cx"], pose["view"]
    b = ident.build

    def Y(v: float) -> float:
        return y_top + v * hp

    def U(u: float) -> float:
        return u * hp

    side = view == "side"
    v_sh = 2 * ident.head + 0.02  # shoulders
    v_hip = v_sh + ident.torso  # hips
    sw, hw = U(0.13 * b) * (0.65 if side else 1), U(0.11 * b) * (0.65 if side else 1)
    gait = U(pose["gait"])

    # Top: colour field with the identity's pattern; thermal follows the fabric, not the colour.
    rel_y, rel_x = (c.yy - y_top) / hp, (c.xx - cx) / hp
    stripes_h = (rel_y / ident.period) % 1.0 < 0.5
    stripes_v = (rel_x / ident.period) % 1.0 < 0.5
    pat = {
        "plain": np.zeros_like(stripes_h),
        "hstripes": stripes_h,
        "vstripes": stripes_v,
        "checks": stripes_h ^ stripes_v,
        "twotone": rel_y > v_sh + 0.45 * ident.torso,
        "logo": (view == "front")
        & (np.abs(rel_x) < 0.07 * b)
        & (np.abs(rel_y - v_sh - 0.11) < 0.06),
    }[ident.pattern]
    top_mult, warm = fabric_texture(ident.top_fabric, rel_y, rel_x, c.yy, c.xx)
    top_rgb = np.where(pat[..., None], ident.top2, ident.top) * np.expand_dims(top_mult, -1)
    top_rgb = np.clip(top_rgb, 0, 1)
    top_t = np.where(pat, ident.top2_t, ident.top_t) + warm
    bottom_mult, warm = fabric_texture(ident.bottom_fabric, rel_y, rel_x, c.yy, c.xx)
    bottom_rgb = np.clip(ident.bottom * np.expand_dims(bottom_mult, -1), 0, 1)
    bottom_t = ident.bottom_t + warm
    # NIR: the dye model of each colour plus the fibre term and the dye-batch jitter; the weave
    # shades every wavelength alike, so its colour factor multiplies the NIR level too.
    top_n = (
        np.where(pat, float(dye_nir(ident.top2)), float(dye_nir(ident.top)))
        + FIBRE_NIR[ident.top_fabric]
        + ident.nir_jitter
    ) * np.asarray(top_mult)
    bottom_n = (
        float(dye_nir(ident.bottom)) + FIBRE_NIR[ident.bottom_fabric] + ident.nir_jitter
    ) * np.asarray(bottom_mult)
    skin_n, hair_n = skin_nir(ident.skin), hair_nir(ident.hair)
    shoes_n = float(dye_nir(ident.shoes)) - 0.1
    bag_n = {
        k: float(dye_nir(v)) - 0.1
        for k, v in (("b", ident.backpack), ("h", ident.handbag))
        if v is not None
    }
    cap_n = float(dye_nir(ident.cap)) + ident.nir_jitter if ident.cap is not None else 0.0

    def hair_long() -> None:
        c.paint(
            c.strip(
                Y(ident.head),
                Y(v_sh + ident.hair_length),
                cx,
                cx,
                U(0.8 * ident.head),
                U(0.95 * ident.head),
            ),
            ident.hair,
            ident.hair_t,
            hair_n,
        )

    def backpack() -> None:
        if ident.backpack is None:
            return
        k = ident.backpack_size
        if view == "back":
            c.paint(
                c.strip(
                    Y(v_sh + 0.02),
                    Y(v_sh + 0.6 * k * ident.torso),
                    cx,
                    cx,
                    U(0.085 * k * b),
                    U(0.09 * k * b),
                ),
                ident.backpack,
                ident.backpack_t,
                bag_n["b"],
            )
        elif view == "side":
            x = cx - sw - U(0.04 * k)
            c.paint(
                c.strip(
                    Y(v_sh + 0.02), Y(v_sh + 0.6 * k * ident.torso), x, x, U(0.045 * k), U(0.05 * k)
                ),
                ident.backpack,
                ident.backpack_t,
                bag_n["b"],
            )
        else:
            for s in (-1, 1):
                x = cx + s * 0.6 * sw
                c.paint(
                    c.strip(Y(v_sh), Y(v_sh + 0.55 * ident.torso), x, x, U(0.012), U(0.012)),
                    ident.backpack,
                    ident.backpack_t,
                    bag_n["b"],
                )

    # Legs: skin first, then the garment; side view swings them apart, front/back spreads them.
    spread = [(-1, -gait), (1, gait)] if side else [(-1, -0.3 * gait), (1, 0.3 * gait)]
    leg_hw0, leg_hw1 = U(0.05 * b), U(0.034 * b)
    v_hem = v_hip + ident.bottom_length * (0.965 - v_hip)  # where trousers, shorts or skirt end
    for s, dx in spread:
        x0 = cx + s * U(0.045 * b) * (0.4 if side else 1)
        c.paint(
            c.strip(Y(v_hip - 0.02), Y(0.97), x0, x0 + dx, leg_hw0, leg_hw1),
            ident.skin,
            ident.skin_t,
            skin_n,
        )
        if ident.bottom_kind in ("trousers", "shorts"):
            v_end = v_hem
            t_end = (v_end - v_hip + 0.02) / (0.97 - v_hip + 0.02)
            c.paint(
                c.strip(
                    Y(v_hip - 0.02),
                    Y(v_end),
                    x0,
                    x0 + t_end * dx,
                    leg_hw0 * 1.1,
                    (leg_hw0 + t_end * (leg_hw1 - leg_hw0)) * 1.1,
                ),
                bottom_rgb,
                bottom_t,
                bottom_n,
            )
        c.paint(
            c.strip(
                Y(0.955),
                Y(1.0),
                x0 + dx + (U(0.015) if side else 0),
                x0 + dx + (U(0.02) if side else 0),
                U(0.04),
                U(0.045),
            ),
            ident.shoes,
            ident.shoes_t,
            shoes_n,
        )
    if ident.bottom_kind == "skirt":
        flare = 1.2 + 0.8 * ident.bottom_length
        c.paint(
            c.strip(Y(v_hip - 0.03), Y(v_hem), cx, cx, hw * 1.05, hw * flare),
            bottom_rgb,
            bottom_t,
            bottom_n,
        )

    if view != "back" and ident.long_hair:
        hair_long()
    if view == "side":
        backpack()
    # The top ends at the hips (tucked in) or below them (tunic, coat), flaring towards the hem.
    hem = ident.top_length
    c.paint(
        c.strip(Y(v_sh - 0.01), Y(v_hip + 0.02 + hem), cx, cx, sw, hw * (1 + 1.5 * hem)),
        top_rgb,
        top_t,
        top_n,
    )
    if view == "back":
        backpack()

    # Arms: sleeves in the top's fabric, skin below the sleeve; the hands swing with the gait.
    arm_len = 0.37
    sides = [(1 if pose["swing"] > 0 else -1)] if side else [-1, 1]
    for s in sides:
        x0 = cx + s * (sw - U(0.01)) * (0.3 if side else 1)
        x1 = x0 + s * U(0.01) + U(pose["swing"]) * (1 if side else s * 0.3)
        c.paint(
            c.strip(Y(v_sh), Y(v_sh + arm_len), x0, x1, U(0.042 * b), U(0.032 * b)),
            ident.skin,
            ident.skin_t,
            skin_n,
        )
        t_sl = ident.sleeve
        if t_sl > 0:
            c.paint(
                c.strip(
                    Y(v_sh),
                    Y(v_sh + t_sl * arm_len),
                    x0,
                    x0 + t_sl * (x1 - x0),
                    U(0.05 * b),
                    U(0.042 * b),
                ),
                top_rgb,
                top_t,
                top_n,
            )
        if ident.handbag is not None and s == 1:
            c.paint(
                c.strip(
                    Y(v_sh + arm_len - 0.02), Y(v_sh + arm_len + 0.1), x1, x1, U(0.055), U(0.065)
                ),
                ident.handbag,
                ident.handbag_t,
                bag_n["h"],
            )
    if view == "front":
        backpack()

    # Head: face (front/side) or hair (back), hair on top, cap above all.
    r = U(ident.head)
    c.paint(
        c.ellipse(cx, Y(ident.head), 0.8 * r, r),
        ident.hair if view == "back" else ident.skin,
        ident.hair_t if view == "back" else ident.skin_t,
        hair_n if view == "back" else skin_n,
    )
    if view == "back" and ident.long_hair:
        hair_long()
    hx = cx - (0.25 * r if side else 0)
    c.paint(
        c.ellipse(hx, Y(0.75 * ident.head), 0.85 * r, 0.7 * r) * (c.yy < Y(ident.head)),
        ident.hair,
        ident.hair_t,
        hair_n,
    )
    if ident.cap is not None:
        c.paint(
            c.ellipse(cx, Y(0.5 * ident.head), 0.9 * r, 0.55 * r), ident.cap, ident.cap_t, cap_n
        )


def draw_pose(
    rng: np.random.Generator, ident: Identity, view_p: np.ndarray, height: int, width: int
) -> dict:
    """The per-image nuisance: view (with the camera's preferences ``view_p``), scale, position,
    gait, arm swing, flip, lighting, background shift and an occluder in one picture out of five."""
    hp = height * 0.86 * ident.height * rng.uniform(0.96, 1.03)
    return {
        "view": VIEWS[rng.choice(3, p=view_p)],
        "hp": hp,
        "top": (height - hp) / 2 + rng.normal(0, 0.025) * height,
        "cx": width / 2 + rng.normal(0, 0.07) * width,
        "gait": rng.uniform(0.0, 0.12),
        "swing": rng.uniform(-0.06, 0.06),
        "flip": bool(rng.random() < 0.5),
        "light": rng.uniform(0.85, 1.15),
        "shift": int(rng.integers(width)),
        "occluder": _draw_occluder(rng, height, width) if rng.random() < 0.2 else None,
    }


def _draw_occluder(rng: np.random.Generator, height: int, width: int) -> dict:
    if rng.random() < 0.6:  # something in front of the legs: a bench, a bin, a car bonnet
        y0 = height * rng.uniform(0.68, 0.85)
        box = (y0, height + 1.0, width * rng.uniform(-0.2, 0.4), width * rng.uniform(0.6, 1.2))
    else:  # a pole or a passer-by at one side
        w = width * rng.uniform(0.12, 0.3)
        x0 = 0.0 if rng.random() < 0.5 else width - w
        box = (-1.0, height + 1.0, x0, x0 + w)
    return {"box": box, "colour": rng.uniform(0.1, 0.9, size=3), "thermal": rng.uniform(0.1, 0.6)}


def render_background(rng: np.random.Generator, cam: Camera, height: int, width: int) -> np.ndarray:
    """A fixed (H, 2W, 3) coloured background scene per camera: floor/wall (or ground/sky) gradient
    and a few objects; IR cameras convert it with their physics in :func:`expose`."""
    yy = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    ramp = np.clip((yy - cam.horizon) * 12 + 0.5, 0, 1)
    bg = np.broadcast_to(
        cam.bg_top * (1 - ramp) + cam.bg_bottom * ramp, (height, 2 * width, 3)
    ).copy()
    for _ in range(rng.integers(2, 6)):  # doors, windows, trees, parked objects
        x0, y0 = rng.uniform(0, 2 * width), rng.uniform(0, cam.horizon) * height
        w, h = rng.uniform(0.1, 0.5) * width, rng.uniform(0.15, 0.6) * height
        bg[int(y0) : int(y0 + h), int(x0) : int(x0 + w)] += rng.uniform(-0.3, 0.3, size=3)
    bg += gaussian_filter(rng.normal(0, 0.04, (height, 2 * width, 1)), (3, 3, 0))
    return np.clip(bg, 0, 1).astype(np.float32)


def _sensor(img: np.ndarray, cam: Camera, rng: np.random.Generator) -> np.ndarray:
    """Blur, pixel and row noise, clipping and gamma of an IR sensor: (H, W) -> (H, W, 3) equal."""
    img = gaussian_filter(img, cam.blur)
    pixel = rng.normal(0, cam.noise, img.shape)
    img = img + pixel + rng.normal(0, 0.5 * cam.noise, (1, img.shape[1]))
    return np.repeat(np.clip(img, 0, 1)[..., None] ** cam.gamma, 3, axis=2)


def expose(
    c: Canvas,
    ident: Identity,
    cam: Camera,
    background: np.ndarray,
    pose: dict,
    rng: np.random.Generator,
) -> np.ndarray:
    """What camera ``cam`` records of the painted scene in front of ``background`` (the coloured
    (H, 2W, 3) scene of :func:`render_background`): an (H, W, 3) uint8 array."""
    height, width = c.alpha.shape
    bg = np.roll(background, -pose["shift"], axis=1)[:, :width]
    if cam.physics == "nir":
        # Active illuminator: centre-bright, and a person nearer the camera (drawn larger than the
        # identity's nominal size) receives more light (inverse-square in distance).
        rx2, ry2 = (
            ((c.xx - width / 2) / (width / 2)) ** 2,
            ((c.yy - height / 2) / (height / 2)) ** 2,
        )
        r2 = rx2 / 2 + ry2 / 2
        near = (pose["hp"] / (0.86 * height * ident.height)) ** 2
        scene = (c.nir * near + (1 - c.alpha) * dye_nir(bg) * cam.bg_light) * (1 - cam.falloff * r2)
        img = scene * cam.gain * rng.uniform(0.92, 1.08) + rng.uniform(-0.02, 0.02)
        img = _sensor(img, cam, rng)
    elif cam.physics == "thermal":
        # Body heat is strongest at the centre of the torso and falls off towards the silhouette.
        core = 1 + 0.08 * np.clip(1 - ((c.xx - pose["cx"]) / (0.15 * pose["hp"])) ** 2, 0, 1)
        lum = bg @ np.array([0.299, 0.587, 0.114], np.float32)
        scene = c.th * core + (1 - c.alpha) * (cam.ambient + 0.25 * (lum - lum.mean()))
        level = rng.uniform(-0.02, 0.02)  # automatic gain control hunting
        img = _sensor((scene - 0.3) * cam.gain * rng.uniform(0.96, 1.04) + 0.3 + level, cam, rng)
    else:
        shade = np.clip(1 - 0.35 * ((c.xx - pose["cx"]) / (0.2 * pose["hp"])) ** 2, 0.55, 1)
        shade = shade * (1.08 - 0.16 * np.clip((c.yy - pose["top"]) / pose["hp"], 0, 1))
        scene = c.rgb * shade[..., None] + (1 - c.alpha[..., None]) * bg
        img = np.clip(scene * cam.white * cam.gain * pose["light"], 0, 1) ** cam.gamma
        img = gaussian_filter(img, (cam.blur, cam.blur, 0))
        img = np.clip(img + rng.normal(0, cam.noise, img.shape), 0, 1)
    if pose["flip"]:
        img = img[:, ::-1]
    return np.round(img * 255).astype(np.uint8)


def render(
    ident: Identity, cam: Camera, background: np.ndarray, pose: dict, rng: np.random.Generator
) -> np.ndarray:
    """One picture of ``ident`` in ``pose`` by ``cam``: (H, W, 3) uint8; IR pictures have 3 equal
    channels.

    ``rng`` draws the exposure (gain hunting, sensor noise); the size is the background's height.
    ``background`` may be another camera's scene: that is how an IR twin is rendered.
    """
    height, width = background.shape[0], background.shape[1] // 2
    c = Canvas(height, width)
    draw_person(c, ident, pose)
    if pose["occluder"] is not None:
        y0, y1, x0, x1 = pose["occluder"]["box"]
        a = np.clip(
            np.minimum(np.minimum(c.yy - y0, y1 - c.yy), np.minimum(c.xx - x0, x1 - c.xx)) + 0.5,
            0,
            1,
        )
        colour = pose["occluder"]["colour"]
        c.paint(a.astype(np.float32), colour, pose["occluder"]["thermal"], float(dye_nir(colour)))
    return expose(c, ident, cam, background, pose, rng)
