"""LSL and XDF input/output, ring buffers and the dyad simulator's outlets. Never imports Qt."""
