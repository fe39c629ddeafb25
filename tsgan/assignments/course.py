"""The course's exercises: notebook, kind, points and expected student time of each.

One table for the builder (which exercises each notebook must hold), the grader (the points of
each) and docs/TEACHING.md (whose instructor-kit tables a test compares with this one). Minutes
are a student's working time at the level the notebook assumes, not the machine's run time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Exercise:
    """One graded item: a function to write (``code``) or a checked multiple-choice answer
    (``choice``: the region assigns one letter)."""

    name: str
    notebook: str
    kind: str
    points: int
    minutes: int


NOTEBOOKS = (
    "01_data_exploration.ipynb",
    "02_teacher_pretraining.ipynb",
    "03_cyclegan_joint_discriminator.ipynb",
    "04_teacher_student_losses.ipynb",
    "05_full_training.ipynb",
    "06_evaluation_and_reranking.ipynb",
    "07_ablations.ipynb",
)

EXERCISES = (
    Exercise("pixel_features", NOTEBOOKS[0], "code", 3, 15),
    Exercise("q_modality", NOTEBOOKS[0], "choice", 1, 5),
    Exercise("id_loss", NOTEBOOKS[1], "code", 4, 20),
    Exercise("triplet", NOTEBOOKS[1], "code", 6, 30),
    Exercise("cycle_loss", NOTEBOOKS[2], "code", 2, 5),
    Exercise("fake_set", NOTEBOOKS[2], "code", 3, 15),
    Exercise("adversarial_losses", NOTEBOOKS[2], "code", 8, 40),
    Exercise("ts_losses", NOTEBOOKS[3], "code", 6, 30),
    Exercise("gradient_flow", NOTEBOOKS[4], "code", 8, 40),
    Exercise("algorithm1_step", NOTEBOOKS[4], "code", 6, 25),
    Exercise("q_student_init", NOTEBOOKS[4], "choice", 1, 5),
    Exercise("sysu_removed", NOTEBOOKS[5], "code", 3, 15),
    Exercise("cmc_ap", NOTEBOOKS[5], "code", 8, 45),
    Exercise("k_reciprocal", NOTEBOOKS[5], "code", 5, 25),
    Exercise("query_expansion", NOTEBOOKS[5], "code", 4, 20),
    Exercise("paired_difference", NOTEBOOKS[6], "code", 6, 30),
    Exercise("q_ablation_reading", NOTEBOOKS[6], "choice", 2, 10),
)

BY_NAME = {e.name: e for e in EXERCISES}


def exercises_of(notebook: str) -> list[Exercise]:
    """The exercises of one notebook (by file name), in the notebook's order."""
    return [e for e in EXERCISES if e.notebook == notebook]
