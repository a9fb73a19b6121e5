"""``train_run``: train a notebook's main model in this process (or as one rank of a
``torchrun`` job) into a run folder laid out as a notebook run's, so ``load_runs``, sweeps
and the ablation explorer read it."""
from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any

from vreid_lite.engine import distributed
from vreid_lite.runs.folder import record
from vreid_lite.runs.parameters import check_parameters, resolve_notebook
from vreid_lite.runs.runner import close_run, open_run, terminate_as_interrupt
from vreid_lite.runs.trainers import COMMON, TRAINERS, Trainer

ENTRY = "vreid train"


def supported() -> str:
    return ", ".join(f"{stem} ({t.model})" for stem, t in TRAINERS.items())


def resolve_trainer(notebook_or_model: str | os.PathLike) -> tuple[Path, Trainer]:
    """The notebook and its trainer, from a notebook path or name (``01_baseline``, ``01``) or
    a model name (``baseline``); ValueError naming the notebook when it has no trainer."""
    by_model = {t.model: stem for stem, t in TRAINERS.items()}
    source = resolve_notebook(by_model.get(os.fspath(notebook_or_model), notebook_or_model))
    if source.stem not in TRAINERS:
        raise ValueError(f"vreid train cannot train {source.stem}; it trains {supported()}. "
                         f"Run the notebook instead: vreid run {source.stem}")
    return source, TRAINERS[source.stem]


def check_train_parameters(notebook_or_model: str | os.PathLike, params: dict[str, Any]
                           ) -> tuple[Path, Trainer, dict[str, Any]]:
    """The notebook, its trainer and the full parameters the trainer runs with (the notebook's
    defaults of those it honours, overridden by ``params``). ``params`` are checked as
    ``vreid run`` checks them; one the notebook declares but the trainer ignores (an ablation,
    a figure's option) is refused."""
    source, trainer = resolve_trainer(notebook_or_model)
    _, defaults = check_parameters(source, params)
    honoured = COMMON + trainer.parameters
    ignored = sorted(set(params) - set(honoured))
    if ignored:
        raise ValueError(f"{source.name}: vreid train does not take {', '.join(map(repr, ignored))}"
                         f" (it trains the main model only, with {list(honoured)}); run the "
                         f"notebook for the rest: vreid run {source.stem}")
    return source, trainer, {name: params.get(name, defaults[name]) for name in honoured}


def train_run(notebook_or_model: str | os.PathLike, params: dict[str, Any],
              tag: str | None = None, runs_dir: str | os.PathLike | None = None
              ) -> tuple[Path | None, bool]:
    """Train the notebook's main model with ``params`` into a new run folder.

    Rank 0 alone creates and writes the folder: ``params.json`` (the parameters the trainer
    used), ``env.json``, ``run.json`` (also ``entry`` and ``world_size``; its ``setting``
    carries the entry too, so a sweep never takes this run for the notebook's), ``status``,
    ``metrics.json``, ``history.json`` and the checkpoints; ``error.txt`` when training
    raised. Returns ``(folder, ok)``; the folder is None on the other ranks.
    """
    source, trainer, full = check_train_parameters(notebook_or_model, params)
    if distributed.rank() != 0:
        trainer.train(full, None, False)
        return None, True
    folder, info, started = open_run(
        source, full, tag, runs_dir,
        entry={"entry": ENTRY, "world_size": distributed.world_size()})
    status, error = "failed", None
    try:
        with terminate_as_interrupt():
            record(folder, **trainer.train(full, folder, True))
        status = "succeeded"
    except KeyboardInterrupt:
        status, error = "interrupted", "interrupted (Ctrl-C or SIGTERM)\n"
        raise
    except Exception:
        error = traceback.format_exc()
    finally:
        close_run(folder, info, started, status, error)
    return folder, status == "succeeded"
