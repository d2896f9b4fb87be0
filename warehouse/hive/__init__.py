"""hive package."""
