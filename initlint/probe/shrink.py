"""A real config scaled down before the probe builds a model from it: a default transformers
config (hidden size 768 to 4096) makes one forward pass slow and large on a CPU. The hidden and
feed-forward sizes shrink, layers and vocabulary stay, and the note says what changed, so that
what the probe measures is read at the sizes it was measured at.
"""

from __future__ import annotations

import re
from typing import Any

#: hidden-size fields of config classes, the main one first; feed-forward sizes scale with it
_HIDDEN = ("hidden_size", "n_embd", "d_model", "embed_dim", "hidden_dim", "dim", "n_embed", "emb_dim", "width")
_FEED_FORWARD = re.compile(r"^(intermediate_size|n_inner|d_ff|ffn_dim|encoder_ffn_dim|decoder_ffn_dim|d_inner|mlp_dim|ffn_hidden_size|inner_dim)$")
_HEADS = ("num_attention_heads", "n_head", "num_heads", "n_heads", "nhead", "encoder_attention_heads")
#: a config whose main hidden size is above this is scaled down
SMALL_HIDDEN = 256


def shrink_config(config: Any) -> str | None:
    """Scale a config's hidden sizes down to 16 per head (layers and vocabulary kept); the note
    says what changed, or None when nothing did."""
    try:
        fields_ = vars(config)
    except TypeError:
        return None
    main = next((n for n in _HIDDEN if isinstance(fields_.get(n), int) and not isinstance(fields_.get(n), bool)), None)
    if main is None or fields_[main] <= SMALL_HIDDEN:
        return None
    heads = next((fields_[n] for n in _HEADS if isinstance(fields_.get(n), int) and fields_[n] > 0), None)
    old = fields_[main]
    new = max(64, 16 * heads) if heads else 64
    if heads and new % heads:
        new += heads - new % heads
    if new >= old:
        return None
    factor = new / old
    changed = [f"{main} {old}->{new}"]
    setattr(config, main, new)
    for name, value in list(fields_.items()):
        if name != main and isinstance(value, int) and not isinstance(value, bool) and (
            name in _HIDDEN or _FEED_FORWARD.match(name)
        ) and value > 0:
            scaled = max(1, round(value * factor))
            if heads and value % heads == 0:
                scaled = max(heads, scaled - scaled % heads)
            setattr(config, name, scaled)
            changed.append(f"{name} {value}->{scaled}")
    layers = next((f"{n} {fields_[n]}" for n in ("num_hidden_layers", "n_layer", "num_layers", "n_layers", "depth") if n in fields_), None)
    kept = f"; layers kept ({layers})" if layers else "; layers kept"
    return f"built from a small {type(config).__name__}: {', '.join(changed)}{kept}"


__all__ = ["SMALL_HIDDEN", "shrink_config"]
