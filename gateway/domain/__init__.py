"""The domain core: pure rules and values. Imports neither FastAPI nor SQLAlchemy."""
