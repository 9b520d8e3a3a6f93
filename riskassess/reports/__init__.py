"""Follow-up statistics for managers: aggregates only, with small cells suppressed."""
