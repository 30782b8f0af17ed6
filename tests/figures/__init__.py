"""Figures: the KPI service against DESIGN.md's definitions (services/figures/)."""
