"""Patrols: a worker's day and the monthly compliance table (services/patrol/)."""
