"""Streamlit pages, one folder per capability (as in services/): each page lays out widgets and
calls one service per user action; `components` holds what several pages share.  Pages never
touch the store or SQLAlchemy (`tests/test_layering.py`)."""
