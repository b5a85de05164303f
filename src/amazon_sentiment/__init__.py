"""Amazon review sentiment pipeline."""
