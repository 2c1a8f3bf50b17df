"""Storage implementations of the service ports: SQLAlchemy for records, files for blobs."""
