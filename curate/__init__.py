"""Curation: the ImageNet VID tree -> validated records -> SiamFC crops -> LMDB shards and their manifest.

Also the synthetic VID generator (the embedded default dataset) and the stats over a curation.
"""
