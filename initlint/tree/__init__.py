"""The syntax tree the evaluator reads: libcst's shapes, built from CPython's parser (nodes.py)."""
