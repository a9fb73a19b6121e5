"""The browser test: the notebooks run in JupyterLab, driven in headless Chromium.

Its test file is named ``check_*.py`` so that ``pytest tests`` (``make test``) does not collect
it; ``make test-browser`` names it, and then it runs and fails, never skips, when Chromium or
Playwright is missing. Nothing here imports Playwright at import time.
"""
