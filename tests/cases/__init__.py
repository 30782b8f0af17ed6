"""Cases: the incident workflow, its limits and the incident frames (services/cases/)."""
