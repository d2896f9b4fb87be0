"""Tables over the root: DDL rendered from table specs, HiveServer2 or Glue as the
catalog, partitions found under the root, the user's views and the materialised reports.
"""
