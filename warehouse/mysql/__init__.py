"""MySQL import (flow 3): tables of many databases copied through an SSH tunnel into the
root, one load at a time (full or incremental), and handed to `hive/` as table specs.
"""
