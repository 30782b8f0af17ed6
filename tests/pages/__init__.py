"""The pages as Streamlit runs them (AppTest) on the small demo (app.py, pages/)."""
