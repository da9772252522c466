"""Curation: a tracking dataset's tree -> validated records -> SiamFC crops -> LMDB shards and their manifest.

Reads every format of the catalogue (:mod:`.catalogue`): the training sets ImageNet VID, GOT-10k, LaSOT, TrackingNet
and COCO, the benchmarks' layouts (OTB, UAV123/UAV20L, NfS, TC128, TNL2K) and your own sequences, each through its
source (:mod:`.sources`); the benchmarks themselves are registered in :mod:`.benchmarks`. Also the synthetic trees
of every layout (:mod:`.synth`) and the stats over a curation.
"""
