"""Model: the SiamFC network, its trainer, the tracker and OTB-style evaluation."""
