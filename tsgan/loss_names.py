"""What a step model logs each step, declared once and typed (CycleGAN's ``loss_names``).

A step model (``tsgan.engine.step_model.StepModel``) lists its :class:`LossName` s in
``loss_names``; the loss figure (``tsgan.figures.plot_losses``), TensorBoard's loss charts
(``tsgan.engine.tensorboard``) and the table of terms (:func:`loss_table`, notebook 05) read that
list, so a new term is named in one place. A floor-0 utility: the engine, the plots and the step
models all read it, and none of them may import another for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LossName:
    """One value a step model logs each step (the dict of ``optimize_parameters``).

    ``name``: its key in ``metrics.jsonl`` and TensorBoard; ``panel``: the chart it is drawn in,
    named by the optimizer that minimises it ("" for a logged value that is not a loss: not
    drawn; an optimizer with many terms may split them over several panels, e.g. TS-GAN's O_B
    into L_ReID's and L_TS's); ``means``: what it is, with the paper's symbol and equation;
    ``total``: the panel's sum (drawn thick), the loss its optimizer steps on or, in a panel of
    part of an optimizer's terms, their weighted sum that enters that loss.
    """

    name: str
    panel: str
    means: str
    total: bool = False


def loss_panels(names: Sequence[LossName]) -> list[tuple[str, list[str]]]:
    """(panel, [loss names]) in declaration order; values of panel "" are left out."""
    panels: dict[str, list[str]] = {}
    for n in names:
        if n.panel:
            panels.setdefault(n.panel, []).append(n.name)
    return list(panels.items())


def loss_table(names: Sequence[LossName]) -> str:
    """The declared names as a text table: name, panel, meaning (one line each)."""
    width = max((len(n.name) for n in names), default=0)
    panel = max((len(n.panel) for n in names), default=0)
    return "\n".join(f"{n.name:<{width}}  {n.panel or '-':<{panel}}  {n.means}" for n in names)
