"""Facts about one machine: the Environment every stage speaks, its JSON document, completion from the matrix."""
