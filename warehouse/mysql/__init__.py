"""mysql package."""
