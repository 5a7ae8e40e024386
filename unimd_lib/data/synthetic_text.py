"""The synthetic benchmark's language side when a real text encoder embeds it: the meaning of an action's name
decides its feature signature, a few related class names are held out of training (zero-shot TAD), and every
validation sentence gets templated rewrites (paraphrases) for the open-vocabulary evaluation."""

from __future__ import annotations

import numpy as np

from unimd_lib.errors import ConfigError
from unimd_lib.formats.features import l2_normalise

# held out of training (zero-shot TAD), each a relative of a seen class (mop ~ sweep, peel ~ cut, ...)
ZERO_SHOT = ("mop the floor", "peel a fruit", "hang laundry", "wipe a table", "write a note", "knead dough")
ACTION_REWRITES = {
    "cut vegetables": ("chop the veggies", "slice some vegetables"),
    "wash dishes": ("do the washing up", "clean the plates"),
    "open a drawer": ("pull a drawer open", "open up a drawer"),
    "pour water": ("pour some water", "fill a glass with water"),
    "read a book": ("look through a book", "read some pages of a book"),
    "fold clothes": ("fold the laundry", "fold some garments"),
    "sweep the floor": ("sweep up the floor", "brush the floor with a broom"),
    "type on a laptop": ("type on the computer", "use the keyboard of a laptop"),
    "water plants": ("water the flowers", "give the plants some water"),
    "stir a pot": ("stir the pan", "mix what is in the pot"),
    "play guitar": ("strum a guitar", "play the guitar"),
    "tie shoelaces": ("tie my shoes", "do up my laces"),
    "brush teeth": ("brush my teeth", "clean my teeth"),
    "iron a shirt": ("press a shirt", "iron my shirt"),
    "peel a fruit": ("peel an orange", "remove the skin of a fruit"),
    "paint a wall": ("paint the wall", "put paint on a wall"),
    "knead dough": ("knead the bread dough", "work the dough"),
    "fix a bicycle": ("repair a bike", "fix my bike"),
    "write a note": ("write something down", "jot down a note"),
    "sew a button": ("sew on a button", "stitch a button"),
    "mop the floor": ("mop up the floor", "clean the floor with a mop"),
    "wipe a table": ("wipe down the table", "clean the table"),
    "hang laundry": ("hang up the washing", "hang clothes to dry"),
    "dig soil": ("dig in the dirt", "dig up some earth"),
}
ATTRIBUTE_REWRITES = {
    "quickly": ("fast", "in a hurry"),
    "slowly": ("without hurrying", "at a slow pace"),
    "with the left hand": ("using my left hand", "left-handed"),
    "near the window": ("by the window", "next to the window"),
    "in the kitchen": ("inside the kitchen", "at the kitchen"),
    "outside": ("outdoors", "out in the open"),
    "twice": ("two times", "a second time"),
    "with a friend": ("together with a friend", "alongside a friend"),
}
TEMPLATES = ("at what point did i {a} {b}?", "show me when i {a} {b}.", "when was it that i {a} {b}?")


def check_vocabulary(actions: tuple[str, ...], held_out: int) -> tuple[str, ...]:
    """The held-out class names (disjoint from the trained ones)."""
    if held_out > len(ZERO_SHOT):
        raise ConfigError(None, "held_out", f"must be at most {len(ZERO_SHOT)}")
    names = ZERO_SHOT[:held_out]
    clash = sorted(set(names) & set(actions))
    if clash:
        raise ConfigError(None, "held_out", f"class {clash[0]!r} is also a trained class: use fewer num_classes")
    return names


def signatures(text: np.ndarray, reference: np.ndarray, feat_dim: int, seed: int) -> np.ndarray:
    """Unit feature signatures [N, feat_dim] = normalise(W · (t − mean of the reference vocabulary)), with W a
    fixed Gaussian map: two names that mean nearly the same get nearly the same signature."""
    w = np.random.default_rng([seed, 7]).standard_normal((text.shape[1], feat_dim))
    return l2_normalise((text - reference.mean(axis=0)) @ w, axis=1)


def paraphrases(action: str, attribute: str, rng: np.random.Generator, count: int = 3) -> list[str]:
    """``count`` rewrites of "when did i <action> <attribute>?": another template, a synonym of the action and,
    mostly, of the attribute (each rewrite a different template)."""
    out = []
    for template in [TEMPLATES[i] for i in rng.permutation(len(TEMPLATES))][:count]:
        a = ACTION_REWRITES[action][int(rng.integers(2))]
        b = ATTRIBUTE_REWRITES[attribute][int(rng.integers(2))] if rng.random() < 0.8 else attribute
        out.append(template.format(a=a, b=b))
    return out
