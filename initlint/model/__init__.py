"""Static understanding of one source file: layers, sizes, init calls and where they reach."""
