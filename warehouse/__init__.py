"""warehouse: build and feed a Hive data warehouse on S3 and Amazon EMR."""

__version__ = "0.1.0"

__all__ = ["__version__"]
