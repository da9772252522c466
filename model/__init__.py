"""model stage of siamfc."""
