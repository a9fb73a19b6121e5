"""Unit tests, one sub-package per ``vreid_lite`` sub-package; packages so that test modules in
different folders may share a basename, and shared helpers (``run_fakes``) import relatively."""
