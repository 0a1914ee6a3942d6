"""Values for constructor parameters that have none, from a parameter's name (pure Python).

The name is the parameter's own or, better, the name of the layer argument it is passed into
(``nn.Conv2d(c, c, k)``: ``k`` is ``kernel_size``, so 3). Only sizes and structural settings are
named here; a value that decides the init itself (``std``, ``init_scale``) is never guessed.
"""

from __future__ import annotations

import re
from typing import Any

#: (pattern, value), first match wins; every pattern is searched in the lower-cased name
_BY_NAME: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"(^|_)std$|init_(std|scale|range)|initializer|(^|_)scale$|(^|_)gain$|^lr$|learning_rate"), None),  # decides the init: never guessed
    (re.compile(r"(^|_)seed$|^random_state$"), 0),
    (re.compile(r"kernel|^k$|ksize"), 3),
    (re.compile(r"stride"), 1),
    (re.compile(r"padding|^pad$"), 1),
    (re.compile(r"dilation"), 1),
    (re.compile(r"groups$"), 1),
    (re.compile(r"heads?$|^n_?head|^nhead"), 4),
    (re.compile(r"dropout|^drop|pdrop$|^p$|_prob$|_rate$"), 0.0),  # ``attn_pdrop`` (GPT's config)
    (re.compile(r"eps$|epsilon"), 1e-5),
    (re.compile(r"momentum"), 0.1),
    (re.compile(r"^(n|num)_?(layers?|blocks?|res_?blocks?)$|depth$|^n_?layers?$|^layers$|^nlayers$|^n_blocks$"), 2),
    (re.compile(r"^(in_?)?chan(nel)?s?$|^in_ch|^in_chans$|^input_(nc|channels?)$|^(num|n|img|image)_channels$|^nc$|^c_in$"), 3),
    (re.compile(r"^output_nc$|^out_chans$"), 3),
    (re.compile(r"vocab|num_embeddings|n_tokens|num_tokens|^ntokens?$|n_vocab"), 1000),
    (re.compile(r"classes|labels|actions|act_dim|action_(dim|size|space)|^n_?out(puts?)?$|^num_out|^outputs?$|^output_dim$|^out_dim$|^n_classes$"), 10),
    (re.compile(r"seq_?len|max_len|block_size|n_ctx|context|max_seq|max_position|n_positions|num_patches"), 64),
    (re.compile(r"img_size|image_size|img_res|resolution|im_size|^img_dim$"), 32),
    (re.compile(r"patch"), 4),
    (re.compile(r".+_shape$"), 8),  # ``state_shape``: a number, or one per item where it is iterated (a bare ``space.shape`` is not named)
    (re.compile(
        r"dim|features|size|width|hidden|units|d_model|n_embd|n_embed|embed|planes|filters|"
        r"^ng?f$|^nd?f$|^nz$|latent|emb|channels|^ch$|^c$|^d$|^h$|^w$|^out_ch"
    ), 64),
    (re.compile(r"^n_|^num_|count$"), 4),
]


def value_by_name(name: str) -> tuple[bool, Any]:
    """(True, value) when the name tells a value; (False, None) when it does not, or when it
    names something the probe must not guess (an init scale)."""
    lowered = name.lower()
    for pattern, value in _BY_NAME:
        if pattern.search(lowered):
            return value is not None, value
    return False, None


def must_not_guess(name: str) -> bool:
    """Whether ``name`` sets the init itself (``std``, ``init_scale``): the user must give it."""
    return _BY_NAME[0][0].search(name.lower()) is not None


def infer_size(name: str) -> int | None:
    """An integer size for ``name``, or None (kept for the Python API and older callers)."""
    known, value = value_by_name(name)
    return value if known and isinstance(value, int) else None
