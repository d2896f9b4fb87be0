"""urls package."""
