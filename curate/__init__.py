"""curate stage of siamfc."""
