"""`make bench`: every benchmark, one after the other (county scale; takes several minutes)."""

from bench import (
    access,
    assessment,
    backup,
    browser_views,
    concurrency,
    coverage,
    fix_partitions,
    foundation,
    imports,
    intake,
    map_page,
    minute_figures,
    panels,
    patrols,
    screen,
    statistics,
    targets,
    workflow,
)

if __name__ == "__main__":
    import sys

    sys.argv = [sys.argv[0], "--scale", "county"]
    foundation.main()
    imports.main()
    sys.argv = [sys.argv[0]]
    map_page.main()
    workflow.main()
    patrols.main()
    sys.argv = [sys.argv[0]]
    screen.main()
    access.main()
    coverage.main()
    concurrency.main()
    statistics.main()
    assessment.main()
    minute_figures.main()
    intake.main()
    panels.main()
    backup.main()
    fix_partitions.main()
    browser_views.main()
    targets.main()
