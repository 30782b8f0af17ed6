"""geo/: the pure, vectorised geometry (grid assignment, GCJ-02, tracks, tiling)."""
