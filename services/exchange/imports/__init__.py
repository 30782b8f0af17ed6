"""Importing a county's data from the files other systems export (DESIGN.md, Exchange formats).

Every import reads and checks the whole file first, collecting every problem with its file, row
and field; only a clean file is written, in one transaction.  Re-importing updates rows by id.
"""
