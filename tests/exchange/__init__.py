"""Exchange: imports and exports in the DESIGN.md formats, grid files and registers (services/exchange/)."""
