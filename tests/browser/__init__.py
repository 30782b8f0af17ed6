"""End to end: the app served by `streamlit run`, driven in headless Debian Chromium."""
