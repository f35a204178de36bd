"""Aggregation, statistics, plots and CSV/HTML reports, built from results files alone."""
