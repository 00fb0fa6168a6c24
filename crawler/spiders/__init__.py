"""Spiders: one per site that needs logic (govhk); generic ones are built from source configs."""
