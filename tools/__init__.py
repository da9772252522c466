"""tools stage of siamfc."""
