"""pipeline stage of siamfc."""
