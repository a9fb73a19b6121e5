"""Run folders, records, the papermill runner and the table of runs."""
from vreid_lite.runs.folder import new_run_folder, record, write_json
from vreid_lite.runs.parameters import notebook_parameters, resolve_notebook
from vreid_lite.runs.runner import run_notebook
from vreid_lite.runs.table import load_runs

__all__ = ["load_runs", "new_run_folder", "notebook_parameters", "record", "resolve_notebook",
           "run_notebook", "write_json"]
