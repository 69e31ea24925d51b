"""Pure domain model and maths: no I/O, no UI."""
