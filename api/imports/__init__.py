"""Bulk imports over HTTP (the CSV rules live in api/residents/csv_import.py)."""

from api.imports.controllers import ResidentImportController

__all__ = ["ResidentImportController"]
