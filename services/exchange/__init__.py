"""Files in and out (DESIGN.md, Exchange formats): the imports, the exports, the fields of each
format (12345 work orders among the imports), spreadsheet-safe downloads, the ID-number rule and
the report files (XLSX, PDF).

Imports: services, services.store, services.access, services.cases, services.patrol, services.figures, services.intake, geo
"""
