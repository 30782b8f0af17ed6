"""The tests, one folder per room of the code (tests/cases/ for services/cases/ and its pages, …),
plus browser/ (Chromium end to end) and project/ (the layering and the README's tables).

Helpers shared by every folder sit here: conftest.py (the stores and the small demo), factories.py
(hand-made data), coverages.py, hostile.py, apptest.py (a page under AppTest) and paths.py."""
