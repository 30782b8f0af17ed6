"""Pure, vectorised spatial functions: no Streamlit, no SQLAlchemy, no row loops over geometries."""
