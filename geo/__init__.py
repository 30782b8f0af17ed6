"""Pure, vectorised spatial functions: assignment, coverages, simplification, tracks, projections,
GCJ-02.  No Streamlit, no SQLAlchemy, no rendering, no row loops over geometries.

Imports: (nothing of the project's above geo)
"""
