"""Files in and out (DESIGN.md, Exchange formats): the imports, the exports, the fields of each
format, spreadsheet-safe downloads and the ID-number rule.

Imports: services, services.store, services.access, services.cases, services.patrol, geo
"""
