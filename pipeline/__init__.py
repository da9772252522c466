"""Pipeline: LMDB shards -> (exemplar, search, label, weight) training pairs, sharded over ranks and workers."""
