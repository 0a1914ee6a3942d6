"""The probe measures the code's own initialization, offline.

A model that downloads at import or build (a Hugging Face config, torchvision's pretrained
weights) is measuring downloaded numbers, not its init, and a download writes caches the user did
not ask for. So the worker runs with the Hugging Face libraries in offline mode (their cache still
serves what is there; ``HF_HUB_OFFLINE=0`` in the user's environment wins). Without it, one
unreachable hub cost 23 s of retries per file and ran models past ``--probe-timeout``.

A download that fails costs one line that says so (``network_reason``). A constructor with a
switch for the download (``pretrained=True``) is built with it off, as a user measuring the init
would, and the note says so (``download_switches``).
"""

from __future__ import annotations

import inspect
import os
import re
import socket
from typing import Any

#: environment variables that make the Hugging Face libraries use their cache only
OFFLINE_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
#: a boolean parameter whose True downloads weights
_SWITCH = re.compile(r"pretrain|download|load_weights|use_pretrained")
_HUB_TEXT = re.compile(r"couldn't connect to '(https?://[^']+)'|offline mode|OfflineModeIsEnabled|LocalEntryNotFound|"
                       r"Cannot find the requested files in the (disk )?cache|outgoing traffic has been disabled")


def go_offline() -> None:
    """Before the Hugging Face libraries are imported (worker start-up)."""
    for name in OFFLINE_ENV:
        os.environ.setdefault(name, "1")


def network_reason(error: BaseException) -> str | None:
    """``needs the network (...)`` when ``error`` (or what caused it) is a failed download,
    else None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        reason = _one(current)
        if reason:
            return reason
        current = current.__cause__ or current.__context__
    return None


def _one(error: BaseException) -> str | None:
    import urllib.error

    text = str(error)
    if isinstance(error, urllib.error.URLError):
        where = getattr(error, "filename", None) or getattr(error, "url", None) or error.reason
        return f"needs the network ({where})"
    if isinstance(error, socket.gaierror) or (isinstance(error, OSError) and "Name or service not known" in text):
        return "needs the network (a host name did not resolve)"
    match = _HUB_TEXT.search(text)
    if match and isinstance(error, (OSError, ValueError, RuntimeError)):
        return f"needs the network ({match.group(1) or 'the Hugging Face hub'}, not in the local cache)"
    if type(error).__name__ in ("ConnectionError", "ConnectTimeout", "MaxRetryError", "NewConnectionError"):
        return f"needs the network ({type(error).__name__})"
    return None


def offline_message(reason: str, stage: str) -> str:
    """The one line of a model that could not be built without a download."""
    where = "its file's import" if stage == "import" else "its constructor"
    return (f"{reason}: {where} downloads files, and the probe runs offline (it measures the code's own init); "
            "pass a factory that builds it without the download")


def download_switches(function: Any, given: dict[str, Any]) -> dict[str, bool]:
    """Boolean parameters of ``function`` that default to True and name a download
    (``pretrained``), not set by the user: each set to False."""
    target = function.__init__ if inspect.isclass(function) else function
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: False for p in parameters
            if p.default is True and p.name not in given and _SWITCH.search(p.name.lower())}
