"""Presentation of checked aggregates: CSV/JSON tables, charts, the HTML page, the bundle."""
