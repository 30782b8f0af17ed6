"""Use cases of 民情地图, one package per capability.  Pages call one function per user action and
show what it returns: plain dataclasses and DataFrames, never HTML.  Nothing here imports
streamlit, folium or `render`.

The rooms, lowest first (a room imports only the rooms before it, `tests/test_layering.py` checks
each package's own "Imports:" line):
- domain, errors, labels, settings, basemaps: the shared vocabulary, errors, table labels and
  settings (modules at this level).
- store/: SQLAlchemy models, engine, migrations, bulk loading.
- access/: who the acting user is, their scope, permissions, sign-in, passwords, users, privacy,
  the audit log.
- cases/: the incident workflow, its time limits and rules, dispatch, one case's detail and
  history, the queue.
- patrol/: tracks and visits, patrol coverage, the monthly compliance table.
- figures/: the DESIGN.md figures of an area.
- mapping/: what the map shows: areas, selection, links, search, side panels, layer data.
- screen/: the command-centre wall screen.
- intake/: cases from other systems (Open311 requests, intake keys).
- exchange/: files in and out: imports, exports, formats, downloads, ID numbers.
- cli/: the entry points (command line, simulator, start-up, demo county).

Imports: services.domain, services.errors, services.labels, services.settings, services.basemaps
"""
