"""Pure numpy/scipy signal processing: arrays in, frozen dataclasses out. No Qt, no LSL, no I/O."""
