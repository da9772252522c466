"""Model: the SiamFC network, its trainer, the tracker, and one-pass evaluation on the 17 benchmarks of
:mod:`siamfc.curate.benchmarks` (OTB, UAV123/UAV20L, NfS, TC128, LaSOT, TNL2K, GOT-10k, TrackingNet, ImageNet VID, your
own sequences), each scored by its own toolkit's rules."""
