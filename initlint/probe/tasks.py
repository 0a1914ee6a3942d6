"""What a task child does: import the module, build the model, fit an input, size it, measure.

Runs only in a child forked by worker.py (``run_task`` never raises). The result is a plain dict:
``{"ok": True, "report": ..., "model": ..., "ran": [...]}`` (classes_run.py), ``{"ok": True, "models": [...]}`` for a listing, or
``{"ok": False, "stage": ..., "error": ..., "unbuildable": bool}`` naming the stage (import,
build, input, forward) and, where it can, the fix.
"""

from __future__ import annotations

import inspect
import math
import os
import time
import traceback
from typing import Any

#: share of the budget for fitting the input, and the point where sizing stops growing it
_FIT_SHARE, _SIZE_SHARE, _SECONDARY_SHARE = 0.3, 0.4, 0.85
#: the most of ``--probe-timeout`` (counted from the hand-over) the measurement budget may use
_TIMEOUT_SHARE = 0.5
#: the most of ``--probe-timeout`` the trials that fit an input may take
_FIT_SHARE_OF_TIMEOUT = 0.4


def one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    message = text[0] if text else ""
    return f"{type(error).__name__}: {message}"[:400] if message else type(error).__name__


def user_frame(error: BaseException) -> str:
    """`` (at model.py:12)`` for the innermost frame outside torch and initlint
    (`` (at model.ipynb:cell 3:5)`` in a notebook)."""
    from initlint.probe.notebook_loading import cell_of

    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        name = frame.filename.replace(os.sep, "/")
        if "/torch/" not in name and "/initlint/" not in name and not name.startswith("<"):
            cell = cell_of(frame.filename, frame.lineno or 0)
            where = f"cell {cell[0]}:{cell[1]}" if cell else frame.lineno
            return f" (at {os.path.basename(name)}:{where})"
    return ""


def _load_notes(module: Any) -> list[str]:
    from initlint.probe.notebook_loading import skipped_cells

    notes = [f"import: ran only the definitions of {where}, whose top-level code failed"
             for where in getattr(module, "__initlint_repaired__", ())]
    notes += list(getattr(module, "__initlint_import_notes__", ()))
    constants = getattr(module, "__initlint_main_constants__", ())
    if constants:
        shown = ", ".join(constants[:8]) + (", ..." if len(constants) > 8 else "")
        notes.append(f"script: took {shown} from its `if __name__ == \"__main__\":` block (values computed without side effects)")
    script = getattr(module, "__initlint_script__", None)
    if script:
        lines = getattr(module, "__initlint_skipped_lines__", ())
        shown = ", ".join(str(n) for n in lines[:8]) + (", ..." if len(lines) > 8 else "")
        skipped = f"; the top-level statements at line(s) {shown} were not run" if lines else ""
        return [f"script: ran only its definitions (imports, def, class, constants), since {script}{skipped}",
                *_setup_notes(module), *notes]
    skipped = skipped_cells(module)
    if not skipped:
        return notes
    cells = ", ".join(str(n) for n in skipped)
    return [f"notebook: ran only its definitions (imports, def, class, constants); the other code of cell(s) {cells} was not run",
            *notes]


def _setup_notes(module: Any) -> list[str]:
    """What the setup statements the definitions read did (setup.py)."""
    outcome = getattr(module, "__initlint_setup__", None)
    if outcome is None or not (outcome.ran or outcome.failed or outcome.not_imported):
        return []
    notes = []
    if outcome.ran:
        notes.append("script: ran the assignments its definitions read, at line(s) " + ", ".join(str(n) for n in outcome.ran[:8])
                     + (", ..." if len(outcome.ran) > 8 else ""))
    notes += [f"script: left out line {line} ({reason})" for line, reason in outcome.failed[:4]]
    notes += [f"script: did not import `{name}` at line {line}: {reason}" for name, (line, reason) in list(outcome.not_imported.items())[:4]]
    return notes


def resolve_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            f"--device {requested} was asked for, but torch {torch.__version__} sees no CUDA "
            "device (torch.cuda.is_available() is False)"
        )
    return requested


def _user_inputs(task: dict[str, Any]):
    from initlint.probe.inputs import ArgSpec, parse_input_option

    specs: dict[str, ArgSpec] = {}
    for text in task.get("inputs") or ():
        name, spec = parse_input_option(text)
        specs[name] = spec
    return specs


def _model_info(model: Any) -> dict[str, Any]:
    cls = type(model)
    try:
        file = inspect.getsourcefile(cls)
        line = inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        file, line = None, None
    return {"class": cls.__name__, "module": cls.__module__, "file": file, "line": line}


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Build the model of ``task`` and measure it, or list the models of a module."""
    started = time.monotonic()
    import torch

    from initlint.probe.build import build_model
    from initlint.probe.classes_run import classes_run
    from initlint.probe import construct
    from initlint.probe.construct import BuildError
    from initlint.probe.inputs import InputError
    from initlint.probe.listing import list_models
    from initlint.probe.loading import LoadError, import_target
    from initlint.probe.measure import measure
    from initlint.probe.refit import fit_rebuilding
    from initlint.probe.sizing import choose
    from initlint.probe.verdicts import ProbeThresholds

    try:
        device = resolve_device(task.get("device", "auto"))
    except RuntimeError as error:
        return {"ok": False, "stage": "device", "error": str(error), "fatal": True}
    # the measurement adapts to its budget; it must also end well inside the hard --probe-timeout
    budget = min(float(task.get("budget", 10.0)), _TIMEOUT_SHARE * float(task.get("timeout", math.inf)))
    seed = int(task.get("seed", 0))
    stage = "import"
    try:
        module = import_target(task["path"], tuple(task.get("search") or ()), task.get("cwd"), bool(task.get("definitions")))
        load_notes = _load_notes(module)
        if task.get("op") == "list":
            listed = {"ok": True, "models": [entry.to_dict() for entry in list_models(module)]}
            if getattr(module, "__initlint_script__", None):
                # the models of a file whose import ran past the time limit are built from its
                # definitions at once; one whose import failed tries the import again, which
                # fails and falls back the same way (and repairs the project modules it imports)
                listed["definitions"], listed["notes"] = bool(task.get("definitions")), load_notes
                outcome = getattr(module, "__initlint_setup__", None)
                if outcome is not None and outcome.undefined:
                    listed["undefined"] = dict(outcome.undefined)
            return listed
        stage = "build"
        torch.manual_seed(seed)
        construct.probe_device = device
        built = build_model(module, task["model"], task.get("overrides") or {}, task.get("factory"), task.get("factory_kwargs"))
        model = built.model.to(device)
        stage = "input"
        user = _user_inputs(task)
        if task.get("input_shape"):
            from initlint.probe.inputs import ArgSpec

            user.setdefault("__first__", ArgSpec("x", "float", tuple(task["input_shape"]), fixed=True, why="input-shape"))
        built_at = time.monotonic()  # the clock of the measurement starts once the model exists
        # finding an input that runs decides whether the model is measured at all, so a busy
        # machine must not cut it short: its limit comes from the hard timeout, not the budget
        fit_limit = max(_FIT_SHARE * budget, _FIT_SHARE_OF_TIMEOUT * float(task.get("timeout", 60.0)))
        built, model, fitted = fit_rebuilding(module, task, built, model, device, user, seed, built_at + fit_limit)
        # the budget is the task's whole time after the hand-over (import and build included):
        # sizes and secondary measurements shrink when building took long
        left = max(budget - (time.monotonic() - started), 0.25 * budget)
        sizing = choose(model, fitted, task.get("batch"), left, float(task.get("memory_mb", 4096)), seed, device,
                        max(started + _SIZE_SHARE * budget, built_at + 0.1 * budget))
        stage = "forward"
        args, kwargs = sizing.fitted.make(sizing.batch, seed, device)
        called: set[type] = set()
        report = measure(
            model, args, example_kwargs=kwargs, target=task.get("target", task["model"]), device=device,
            seed=seed, sgd_steps=int(task.get("sgd_steps", 3)), learning_rate=bool(task.get("learning_rate", False)),
            memory_mb=float(task.get("memory_mb", 4096)),
            thresholds=ProbeThresholds(**task.get("thresholds", {})),
            deadline=started + _SECONDARY_SHARE * budget, norm_eval=sizing.norm_eval,
            notes=[*load_notes, *built.notes, *sizing.notes], data_arg=sizing.fitted.data_arg(), called=called,
        )
        report.seconds = time.monotonic() - started
        report.inputs = {s.name: s.describe() for s in sizing.fitted.specs}
        ran = [run.to_dict() for run in classes_run(called)]
        return {"ok": True, "report": report.to_dict(), "model": _model_info(built.model), "ran": ran}
    except (BuildError, LoadError) as error:
        return {"ok": False, "stage": stage, "error": str(error), "unbuildable": True, "seconds": time.monotonic() - started}
    except InputError as error:  # forward raised on every input tried: the message names them
        return {"ok": False, "stage": "forward", "error": str(error), "seconds": time.monotonic() - started}
    except BaseException as error:  # noqa: BLE001 - user code may raise anything, SystemExit too
        from initlint.probe.offline import network_reason, offline_message

        reason = network_reason(error) if stage in ("import", "build") else None
        if reason:  # one line: the download, not the library's retry advice
            return {"ok": False, "stage": stage, "error": offline_message(reason, stage) + user_frame(error),
                    "unbuildable": True, "seconds": time.monotonic() - started}
        return {"ok": False, "stage": stage, "error": one_line(error) + user_frame(error), "seconds": time.monotonic() - started}
